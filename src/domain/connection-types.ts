/** Connection types: 1 publish, 2 subscribe. */
export const PUBLISH = 1;
export const SUBSCRIBE = 2;
export type ConnectionType = typeof PUBLISH | typeof SUBSCRIBE;
export const connectionTypeName = (t: number): "Publish" | "Subscribe" => (t === PUBLISH ? "Publish" : "Subscribe");
