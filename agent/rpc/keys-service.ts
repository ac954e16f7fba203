/**
 * The RotateKeys handler (DomainManager, scope keys:admin): starts a rotation of the domain's key ring and says
 * which key signs now, which is announced, and when each changes. Thin: the ring does the work.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { DomainManager } from "../../gen/camino/v1/domain_manager_pb.js";
import type { KeyRing } from "../auth/key-ring.js";
import type { SigningAlgorithm } from "../auth/keys.js";
import type { Logger } from "../log/logger.js";

/** What {@link createKeysService} needs. */
export interface KeysServiceDeps {
  keyRing: KeyRing;
  /** Told of each rotation (key ids and times only). */
  logger?: Logger;
}

/**
 * The `rotateKeys` method of the DomainManager implementation; spread it into the service object.
 * @example router.service(DomainManager, { ...createDomainManagerService(deps), ...createKeysService({ keyRing }) })
 */
export function createKeysService(deps: KeysServiceDeps): Pick<ServiceImpl<typeof DomainManager>, "rotateKeys"> {
  return {
    async rotateKeys(req) {
      // The ring refuses an algorithm it does not know (ERR_REQUEST_INVALID).
      const algorithm = (req.algorithm || "EdDSA") as SigningAlgorithm;
      const r = await deps.keyRing.rotate(algorithm);
      deps.logger?.info("key rotation started", {
        currentKeyId: r.previousKeyId,
        nextKeyId: r.nextKeyId,
        activatesAt: r.activatesAt.toISOString(),
        retiresAt: r.retiresAt.toISOString(),
      });
      return {
        currentKeyId: r.previousKeyId,
        nextKeyId: r.nextKeyId,
        activatesAt: timestampFromDate(r.activatesAt),
        retiresAt: timestampFromDate(r.retiresAt),
      };
    },
  };
}
