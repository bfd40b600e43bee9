-- <kind>_role_actions.role_id → <kind>_roles.id, checked once per statement instead of once per
-- row. The foreign key of 0002 ran its check (a query and a row lock on the role) for each action
-- row: nine per created client or channel, 42 % of Postgres' CPU per create once creates were
-- group-committed. These triggers keep what it guaranteed, set by set:
-- * inserting actions: each distinct role they name is looked up by its key and locked FOR KEY
--   SHARE, as the key's check did (a concurrent delete of it waits for this commit; one in
--   progress is waited for); a missing one is a foreign_key_violation (23503) naming the
--   constraint as before;
-- * deleting roles deletes their actions (ON DELETE CASCADE), also when a client or channel's
--   deletion cascades to its roles; truncating the roles truncates the actions too;
-- * changing an action's role_id is checked as an insert; changing a referenced role's id is
--   refused (NO ACTION), as it was.
-- The Drizzle schema still declares the reference (src/db/schema/postgres.ts): a dump orders the
-- tables by it, and SQLite keeps it as a foreign key.
ALTER TABLE "client_role_actions" DROP CONSTRAINT "client_role_actions_role_id_client_roles_id_fk";
--> statement-breakpoint
CREATE FUNCTION "client_role_actions_roles_exist"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  role text;
BEGIN
  -- One lookup per distinct role, by its primary key: the key's own check, once per role.
  FOR role IN SELECT DISTINCT n.role_id FROM new_rows n LOOP
    PERFORM 1 FROM "client_roles" r WHERE r.id = role FOR KEY SHARE OF r;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'insert or update on table "client_role_actions" violates foreign key constraint "client_role_actions_role_id_client_roles_id_fk"'
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'client_role_actions_role_id_client_roles_id_fk', TABLE = 'client_role_actions',
          DETAIL = format('Key (role_id)=(%s) is not present in table "client_roles".', role);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "client_role_actions_roles_exist" AFTER INSERT ON "client_role_actions" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "client_role_actions_roles_exist"();
--> statement-breakpoint
CREATE FUNCTION "client_role_actions_role_exists"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM "client_roles" r WHERE r.id = NEW.role_id FOR KEY SHARE OF r;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'insert or update on table "client_role_actions" violates foreign key constraint "client_role_actions_role_id_client_roles_id_fk"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'client_role_actions_role_id_client_roles_id_fk', TABLE = 'client_role_actions',
        DETAIL = format('Key (role_id)=(%s) is not present in table "client_roles".', NEW.role_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "client_role_actions_role_exists" AFTER UPDATE OF role_id ON "client_role_actions" FOR EACH ROW WHEN (OLD.role_id IS DISTINCT FROM NEW.role_id) EXECUTE FUNCTION "client_role_actions_role_exists"();
--> statement-breakpoint
CREATE FUNCTION "client_roles_actions_cascade"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  role text;
BEGIN
  -- Per role through the primary key (role_id, action), as the key's cascade did: a plan cached
  -- for a statement of many rows must not become a scan of every action.
  FOR role IN SELECT o.id FROM old_rows o LOOP
    DELETE FROM "client_role_actions" a WHERE a.role_id = role;
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "client_roles_actions_cascade" AFTER DELETE ON "client_roles" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "client_roles_actions_cascade"();
--> statement-breakpoint
CREATE FUNCTION "client_roles_actions_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "client_role_actions";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "client_roles_actions_truncate" AFTER TRUNCATE ON "client_roles" FOR EACH STATEMENT EXECUTE FUNCTION "client_roles_actions_truncate"();
--> statement-breakpoint
CREATE FUNCTION "client_roles_id_kept"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "client_role_actions" a WHERE a.role_id = OLD.id) THEN
    RAISE EXCEPTION 'update or delete on table "client_roles" violates foreign key constraint "client_role_actions_role_id_client_roles_id_fk" on table "client_role_actions"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'client_role_actions_role_id_client_roles_id_fk', TABLE = 'client_roles',
        DETAIL = format('Key (id)=(%s) is still referenced from table "client_role_actions".', OLD.id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "client_roles_id_kept" AFTER UPDATE OF id ON "client_roles" FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION "client_roles_id_kept"();
--> statement-breakpoint
ALTER TABLE "channel_role_actions" DROP CONSTRAINT "channel_role_actions_role_id_channel_roles_id_fk";
--> statement-breakpoint
CREATE FUNCTION "channel_role_actions_roles_exist"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  role text;
BEGIN
  -- One lookup per distinct role, by its primary key: the key's own check, once per role.
  FOR role IN SELECT DISTINCT n.role_id FROM new_rows n LOOP
    PERFORM 1 FROM "channel_roles" r WHERE r.id = role FOR KEY SHARE OF r;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'insert or update on table "channel_role_actions" violates foreign key constraint "channel_role_actions_role_id_channel_roles_id_fk"'
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'channel_role_actions_role_id_channel_roles_id_fk', TABLE = 'channel_role_actions',
          DETAIL = format('Key (role_id)=(%s) is not present in table "channel_roles".', role);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "channel_role_actions_roles_exist" AFTER INSERT ON "channel_role_actions" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "channel_role_actions_roles_exist"();
--> statement-breakpoint
CREATE FUNCTION "channel_role_actions_role_exists"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM "channel_roles" r WHERE r.id = NEW.role_id FOR KEY SHARE OF r;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'insert or update on table "channel_role_actions" violates foreign key constraint "channel_role_actions_role_id_channel_roles_id_fk"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'channel_role_actions_role_id_channel_roles_id_fk', TABLE = 'channel_role_actions',
        DETAIL = format('Key (role_id)=(%s) is not present in table "channel_roles".', NEW.role_id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "channel_role_actions_role_exists" AFTER UPDATE OF role_id ON "channel_role_actions" FOR EACH ROW WHEN (OLD.role_id IS DISTINCT FROM NEW.role_id) EXECUTE FUNCTION "channel_role_actions_role_exists"();
--> statement-breakpoint
CREATE FUNCTION "channel_roles_actions_cascade"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  role text;
BEGIN
  -- Per role through the primary key (role_id, action), as the key's cascade did: a plan cached
  -- for a statement of many rows must not become a scan of every action.
  FOR role IN SELECT o.id FROM old_rows o LOOP
    DELETE FROM "channel_role_actions" a WHERE a.role_id = role;
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "channel_roles_actions_cascade" AFTER DELETE ON "channel_roles" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "channel_roles_actions_cascade"();
--> statement-breakpoint
CREATE FUNCTION "channel_roles_actions_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "channel_role_actions";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "channel_roles_actions_truncate" AFTER TRUNCATE ON "channel_roles" FOR EACH STATEMENT EXECUTE FUNCTION "channel_roles_actions_truncate"();
--> statement-breakpoint
CREATE FUNCTION "channel_roles_id_kept"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "channel_role_actions" a WHERE a.role_id = OLD.id) THEN
    RAISE EXCEPTION 'update or delete on table "channel_roles" violates foreign key constraint "channel_role_actions_role_id_channel_roles_id_fk" on table "channel_role_actions"'
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'channel_role_actions_role_id_channel_roles_id_fk', TABLE = 'channel_roles',
        DETAIL = format('Key (id)=(%s) is still referenced from table "channel_role_actions".', OLD.id);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "channel_roles_id_kept" AFTER UPDATE OF id ON "channel_roles" FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION "channel_roles_id_kept"();
