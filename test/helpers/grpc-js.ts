/** @grpc/grpc-js — a second, independent gRPC stack — calling the agent with protobuf-es messages. */
import * as grpc from "@grpc/grpc-js";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";

export function grpcJsClient(target: string, ca?: string): grpc.Client {
  const creds = ca ? grpc.credentials.createSsl(Buffer.from(ca)) : grpc.credentials.createInsecure();
  return new grpc.Client(target, creds);
}

/** One unary call; rejects with the grpc-js ServiceError (code, details). */
export function grpcJsUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  path: string,
  input: I,
  output: O,
  request: MessageInitShape<I>,
  headers: Record<string, string> = {},
): Promise<MessageShape<O>> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
      (b: Buffer) => fromBinary(output, b),
      create(input, request),
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, res) => (err ? reject(err) : resolve(res as MessageShape<O>)),
    );
  });
}

/** A bidi call that sends `requests` one at a time and collects one response per request. */
export async function grpcJsBidi<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  path: string,
  input: I,
  output: O,
  requests: MessageInitShape<I>[],
): Promise<MessageShape<O>[]> {
  const call = client.makeBidiStreamRequest(
    path,
    (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
    (b: Buffer) => fromBinary(output, b),
    new grpc.Metadata(),
    { deadline: Date.now() + 10_000 },
  );
  const out: MessageShape<O>[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on("data", (m: MessageShape<O>) => out.push(m));
    call.on("error", reject);
    call.on("end", resolve);
  });
  for (const r of requests) call.write(create(input, r));
  call.end();
  await done;
  return out;
}
