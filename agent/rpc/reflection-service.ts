/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) on protobuf-es registries, so grpcurl, `buf curl`
 * and any gRPC stack can call the agent without proto files. Every file descriptor is answered together with
 * its transitive imports, which the grpc-js reflection package fails to do (grpc/grpc-node#3034).
 */
import { create, createRegistry, toBinary, type DescFile, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

export interface ReflectionOptions {
  /** The files describing every served service; their imports are found through them. */
  files: readonly DescFile[];
  /** Fully qualified names of the services served. */
  services: readonly string[];
}

type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;
const INVALID_ARGUMENT = 3;

/** Answers reflection requests from a file registry; the same logic serves both protocol versions. */
export class ReflectionIndex {
  readonly #registry: Registry;
  readonly #files = new Map<string, DescFile>();
  readonly #services: string[];
  readonly #encoded = new Map<string, Uint8Array>();

  constructor(options: ReflectionOptions) {
    // Keyed by the file's path as protoc names it ("camino/v1/intent.proto"); DescFile.name drops ".proto".
    const add = (f: DescFile): void => {
      if (this.#files.has(f.proto.name)) return;
      this.#files.set(f.proto.name, f);
      f.dependencies.forEach(add);
    };
    options.files.forEach(add);
    this.#registry = createRegistry(...this.#files.values());
    this.#services = [...options.services].sort();
  }

  /** The file and every file it imports, transitively, each once, dependencies first. */
  #withImports(file: DescFile): Uint8Array[] {
    const out: DescFile[] = [];
    const seen = new Set<string>();
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      for (const dep of f.dependencies) visit(dep);
      out.push(f);
    };
    visit(file);
    // The requested file first, as clients expect; its imports after.
    out.reverse();
    return out.map((f) => {
      let bytes = this.#encoded.get(f.name);
      if (!bytes) {
        bytes = toBinary(FileDescriptorProtoSchema, f.proto);
        this.#encoded.set(f.name, bytes);
      }
      return bytes;
    });
  }

  #fileOfSymbol(symbol: string): DescFile | undefined {
    const direct = this.#registry.get(symbol);
    if (direct) return direct.file;
    // A method ("pkg.Service.Method"), a field or an enum value: look up the enclosing name.
    const dot = symbol.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const parent = this.#registry.get(symbol.slice(0, dot));
    if (!parent) return undefined;
    const member = symbol.slice(dot + 1);
    if (parent.kind === "service" && parent.methods.some((m) => m.name === member)) return parent.file;
    if (parent.kind === "message" && parent.fields.some((f) => f.name === member)) return parent.file;
    if (parent.kind === "enum" && parent.values.some((v) => v.name === member)) return parent.file;
    return undefined;
  }

  answer(request: { case: string | undefined; value?: unknown }): Answer {
    switch (request.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: this.#services.map((name) => ({ name })) } };
      case "fileByFilename": {
        const file = this.#files.get(request.value as string);
        if (!file)
          return {
            case: "errorResponse",
            value: { errorCode: NOT_FOUND, errorMessage: `file ${JSON.stringify(request.value)} not found` },
          };
        return { case: "fileDescriptorResponse", value: { fileDescriptorProto: this.#withImports(file) } };
      }
      case "fileContainingSymbol": {
        const file = this.#fileOfSymbol(request.value as string);
        if (!file)
          return {
            case: "errorResponse",
            value: { errorCode: NOT_FOUND, errorMessage: `symbol ${JSON.stringify(request.value)} not found` },
          };
        return { case: "fileDescriptorResponse", value: { fileDescriptorProto: this.#withImports(file) } };
      }
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = request.value as {
          containingType: string;
          extensionNumber: number;
        };
        const message = this.#registry.getMessage(containingType);
        const ext = message ? this.#registry.getExtensionFor(message, extensionNumber) : undefined;
        if (!ext)
          return {
            case: "errorResponse",
            value: {
              errorCode: NOT_FOUND,
              errorMessage: `extension ${extensionNumber} of ${JSON.stringify(containingType)} not found`,
            },
          };
        return { case: "fileDescriptorResponse", value: { fileDescriptorProto: this.#withImports(ext.file) } };
      }
      case "allExtensionNumbersOfType": {
        const name = request.value as string;
        const message = this.#registry.getMessage(name);
        if (!message)
          return {
            case: "errorResponse",
            value: { errorCode: NOT_FOUND, errorMessage: `type ${JSON.stringify(name)} not found` },
          };
        const numbers: number[] = [];
        for (const t of this.#registry)
          if (t.kind === "extension" && t.extendee.typeName === name) numbers.push(t.number);
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: name, extensionNumber: numbers.sort((a, b) => a - b) },
        };
      }
      case undefined:
        return {
          case: "errorResponse",
          value: { errorCode: INVALID_ARGUMENT, errorMessage: "empty reflection request" },
        };
      default:
        return {
          case: "errorResponse",
          value: { errorCode: UNIMPLEMENTED, errorMessage: `unsupported request ${request.case}` },
        };
    }
  }
}

/** grpc.reflection.v1.ServerReflection. */
export function createReflectionV1(index: ReflectionIndex): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: index.answer(req.messageRequest),
        });
      }
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection: the same answers in the older package. */
export function createReflectionV1alpha(index: ReflectionIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: index.answer(req.messageRequest),
        });
      }
    },
  };
}
