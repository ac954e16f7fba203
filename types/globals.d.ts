// Node 20's fetch globals come from undici; @connectrpc/connect's declarations name the DOM's `HeadersInit`,
// which @types/node does not declare globally. This alias is the same type, without pulling in lib "DOM".
type HeadersInit = ConstructorParameters<typeof Headers>[0];
