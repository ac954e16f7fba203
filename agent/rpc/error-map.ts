/**
 * The one place where domain errors become gRPC/Connect status codes. Applied once, as an interceptor at the
 * edge of every service; handlers just throw. Unexpected errors are logged with their cause and reach the
 * caller as INTERNAL without details.
 */
import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import { CaminoError, type ErrorKind } from "../errors.js";
import type { Logger } from "../log/logger.js";

const CODES: Record<ErrorKind, Code> = {
  invalid: Code.InvalidArgument,
  "not-found": Code.NotFound,
  "already-exists": Code.AlreadyExists,
  precondition: Code.FailedPrecondition,
  unauthenticated: Code.Unauthenticated,
  permission: Code.PermissionDenied,
  unavailable: Code.Unavailable,
  deadline: Code.DeadlineExceeded,
  cancelled: Code.Canceled,
  exhausted: Code.ResourceExhausted,
  internal: Code.Internal,
};

/** The status code a domain error of `kind` is answered with. */
export function codeOfKind(kind: ErrorKind): Code {
  return CODES[kind];
}

/** Converts any error into the ConnectError a caller sees. */
export function toConnectError(err: unknown, logger: Logger, procedure: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof CaminoError) {
    const meta = new Headers({ "camino-error-code": err.code });
    return new ConnectError(err.message, CODES[err.kind], meta, undefined, err);
  }
  if (err instanceof Error && err.name === "AbortError")
    return new ConnectError("the call was cancelled", Code.Canceled, undefined, undefined, err);
  logger.error("unexpected error in a call", {
    procedure,
    error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
  });
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

async function* mapStream<T>(stream: AsyncIterable<T>, map: (err: unknown) => ConnectError): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (err) {
    throw map(err);
  }
}

/** An interceptor that maps errors of unary calls and of streamed responses. */
export function errorMapInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const map = (err: unknown) => toConnectError(err, logger, req.url);
    let res: UnaryResponse | StreamResponse;
    try {
      res = await next(req);
    } catch (err) {
      throw map(err);
    }
    if (res.stream) return { ...res, message: mapStream(res.message, map) } as StreamResponse;
    return res;
  };
}
