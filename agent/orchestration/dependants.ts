/**
 * Termination with conflict checks. Another live intent may rely on the one being terminated: a prerequisite one
 * of its packages declares (`camino.io/prerequisites` in its blueprint, e.g. `IngressClass/nginx`) is an object a
 * package of this intent provides on the same edge. Then the termination is refused (`ERR_INTENT_DEPENDANTS`,
 * FAILED_PRECONDITION) naming each dependant — intent, package, prerequisite, edge — unless it is forced.
 *
 * A forced termination goes on, and each dependant is judged DEGRADED by the health watch ({@link
 * DependantGuard.check}, a {@link HealthCheck}) with the reason, e.g. "prerequisite IngressClass/nginx was provided
 * by intent edge-ingress, terminated", for as long as the prerequisite is missing: once the termination is over,
 * the edge is asked (in the background, at most every `recheckMs`) whether the object is there again, as when
 * another intent provides it or the operator creates it; then the dependant is READY again.
 *
 * Who relies on whom is worked out when a termination is asked: the provider's objects are read from its
 * deployment repositories (what the edges run), each dependant's prerequisites from its blueprint at the commit its
 * revision resolved. The forced terminations' missing prerequisites are kept in memory (not across a restart).
 */
import type { ResolvedBlueprint } from "../cad/catalogue.js";
import { CaminoError } from "../errors.js";
import { deadline, linkSignals } from "../util/signals.js";
import type { LiveDeployment } from "./deployment-store.js";
import type { HealthCheck } from "./health-watch.js";
import type { DeploymentRecord, PackageRecord } from "./journal.js";
import { objectsOf, provides } from "./package-objects.js";
import type { LifecycleDeps } from "./run-context.js";

/** One package of another live intent that relies on a package of the intent being terminated. */
export interface Dependant {
  /** The intent and package that rely on it. */
  intent: string;
  package: string;
  /** The prerequisite, `Kind/name`. */
  prerequisite: string;
  edge: string;
  /** The package of the terminated intent that provides it. */
  provider: string;
}

/** What the guard is built from. */
export interface DependantGuardOptions {
  /** The repositories (the providers' objects), the catalogue (the dependants' prerequisites), the edges. */
  deps: Pick<LifecycleDeps, "registry" | "catalogue" | "edges" | "domainId" | "logger" | "shutdown">;
  /** Every deployment the lifecycle holds. */
  deployments: () => Iterable<LiveDeployment>;
  /** After a forced termination, how often the edge is asked whether a missing prerequisite is back, in ms. */
  recheckMs: number;
}

/** A prerequisite a forced termination took away from dependants on one edge. */
interface Missing {
  edge: string;
  kind: string;
  name: string;
  /** The intent that provided it. */
  provider: string;
  /** "intent/package" of each dependant. */
  dependants: Set<string>;
  lastCheck: number;
  checking: boolean;
}

/** Intents whose packages may rely on others: anything not ended. */
const ENDED = new Set(["TERMINATED", "ROLLED_BACK", "FAILED"]);

export class DependantGuard {
  readonly #o: DependantGuardOptions;
  readonly #missing = new Map<string, Missing>();
  /** "<blueprint>@<commit>" → the prerequisites it declares. */
  readonly #prerequisites = new Map<string, Prerequisites>();
  /** Per package record, the prerequisites of its blueprint and the commit they were read at. */
  readonly #ofPackage = new WeakMap<PackageRecord, { commit: string; prerequisites: Prerequisites }>();

  constructor(options: DependantGuardOptions) {
    this.#o = options;
  }

  /**
   * Before `live` is terminated: refuses when other live intents rely on it, unless `force`; with `force`, notes
   * what its dependants lose (the health watch then judges them DEGRADED).
   * @throws CaminoError ERR_INTENT_DEPENDANTS naming every dependant (FAILED_PRECONDITION)
   */
  async beforeTermination(live: LiveDeployment, force: boolean, signal: AbortSignal): Promise<Dependant[]> {
    let found: Dependant[];
    try {
      found = await this.dependantsOf(live.record, signal);
    } catch (err) {
      // Forced, it goes on even when who relies on it cannot be told (a repository unreadable); else it waits.
      if (!force) throw err;
      this.#o.deps.logger.warn("cannot tell who relies on an intent terminated with force", {
        intent: live.record.intent,
        error: String(err),
      });
      return [];
    }
    if (found.length === 0) return found;
    if (!force) {
      const each = found.map(
        (d) =>
          `intent ${d.intent} package ${d.package} needs ${d.prerequisite} on ${d.edge} (provided by package ${d.provider})`,
      );
      throw new CaminoError(
        "ERR_INTENT_DEPENDANTS",
        `intent ${live.record.intent} is relied on by other live intents: ${each.join("; ")}; terminate those first, or terminate with force (scope intents:force)`,
        { data: { dependants: found } },
      );
    }
    for (const d of found) {
      const [kind, ...rest] = d.prerequisite.split("/");
      const key = `${d.edge}\0${d.prerequisite}`;
      const m = this.#missing.get(key) ?? {
        edge: d.edge,
        kind: kind as string,
        name: rest.join("/"),
        provider: live.record.intent,
        dependants: new Set<string>(),
        lastCheck: 0,
        checking: false,
      };
      m.provider = live.record.intent;
      m.dependants.add(`${d.intent}/${d.package}`);
      this.#missing.set(key, m);
    }
    this.#o.deps.logger.warn("intent terminated with force while others rely on it", {
      intent: live.record.intent,
      dependants: found.map((d) => `${d.intent}/${d.package} ${d.prerequisite}@${d.edge}`).join(", "),
    });
    return found;
  }

  /**
   * The packages of other live intents that rely on `provider`: each prerequisite they declare that a package of
   * `provider` provides on the same edge.
   */
  async dependantsOf(provider: DeploymentRecord, signal: AbortSignal): Promise<Dependant[]> {
    const { deps } = this.#o;
    const mine = provider.packages.filter((p) => p.domain === deps.domainId && p.edge && p.repository);
    if (mine.length === 0) return [];
    const edges = new Set(mine.map((p) => p.edge));
    const candidates = [...this.#o.deployments()]
      .map((l) => l.record)
      .filter((r) => r.intent !== provider.intent && !ENDED.has(r.state));
    const needs: { intent: string; package: string; edge: string; kind: string; name: string }[] = [];
    for (const r of candidates) {
      for (const p of r.packages) {
        if (!edges.has(p.edge) || p.state === "TERMINATED" || p.domain !== deps.domainId) continue;
        const known = this.#known(r, p);
        for (const pre of known ?? (await this.#prerequisitesOf(r, p)))
          needs.push({ intent: r.intent, package: p.package, edge: p.edge, ...pre });
      }
    }
    if (needs.length === 0) return [];
    const objectsOfPackage = async (intent: string, pkg: { package: string; repository: string }) => {
      const repo = deps.registry.get(pkg.repository);
      return repo ? objectsOf(await repo.git.readFiles(undefined, `${intent}/${pkg.package}`)) : [];
    };
    // A dependant that provides the prerequisite itself on that edge (an earlier wave of its own) relies on no one.
    const selfProvided = new Set<string>();
    for (const r of candidates) {
      const wanted = needs.filter((n) => n.intent === r.intent);
      if (wanted.length === 0) continue;
      for (const p of r.packages.filter((q) => q.domain === deps.domainId && q.edge && q.repository)) {
        const mine = wanted.filter((n) => n.edge === p.edge && n.package !== p.package);
        if (mine.length === 0) continue;
        const objects = await objectsOfPackage(r.intent, p);
        for (const n of mine)
          if (provides(objects, n.kind, n.name)) selfProvided.add(`${n.intent}/${n.package}/${n.kind}/${n.name}`);
      }
    }
    const out: Dependant[] = [];
    for (const p of mine) {
      signal.throwIfAborted();
      const wanted = needs.filter(
        (n) => n.edge === p.edge && !selfProvided.has(`${n.intent}/${n.package}/${n.kind}/${n.name}`),
      );
      if (wanted.length === 0) continue;
      const objects = await objectsOfPackage(provider.intent, p);
      for (const n of wanted) {
        if (provides(objects, n.kind, n.name))
          out.push({
            intent: n.intent,
            package: n.package,
            prerequisite: `${n.kind}/${n.name}`,
            edge: n.edge,
            provider: p.package,
          });
      }
    }
    return out.sort((a, b) => a.intent.localeCompare(b.intent) || a.package.localeCompare(b.package));
  }

  /** Whether a prerequisite of one of `intent`'s packages is missing (its health can change with no change on its edge). */
  concerns(intent: string): boolean {
    // Asked for every watched intent at every watch period: nothing to look through in the usual case.
    if (this.#missing.size === 0) return false;
    for (const m of this.#missing.values()) for (const d of m.dependants) if (d.startsWith(`${intent}/`)) return true;
    return false;
  }

  /**
   * The health check: a dependant of a forced termination has its prerequisite missing (see the file's comment).
   * Never calls out itself: it starts, at most every `recheckMs`, a background look for the object on the edge.
   */
  readonly check: HealthCheck = ({ record, pkg, edge }) => {
    const problems: string[] = [];
    for (const [key, m] of this.#missing) {
      if (m.edge !== edge || !m.dependants.has(`${record.intent}/${pkg.package}`)) continue;
      problems.push(`prerequisite ${m.kind}/${m.name} was provided by intent ${m.provider}, terminated`);
      this.#recheck(key, m);
    }
    return problems;
  };

  /** Asks the edge whether the missing prerequisite is there again, once the provider's termination is over. */
  #recheck(key: string, m: Missing): void {
    const now = Date.now();
    if (m.checking || now - m.lastCheck < this.#o.recheckMs) return;
    const provider = [...this.#o.deployments()].find((l) => l.record.intent === m.provider);
    // While the provider is being terminated the object may still be there: it is missing all the same.
    if (provider?.terminating || provider?.record.state === "TERMINATING") return;
    const edge = this.#o.deps.edges.get(m.edge);
    if (!edge) return;
    m.checking = true;
    m.lastCheck = now;
    const link = linkSignals(deadline(`the check of ${m.kind}/${m.name} on ${m.edge}`, 5000), this.#o.deps.shutdown);
    void edge
      .prerequisites([{ kind: m.kind, name: m.name }], link.signal)
      .then(([found]) => {
        if (found?.present && this.#missing.get(key) === m) this.#missing.delete(key);
      })
      .catch(() => undefined)
      .finally(() => {
        m.checking = false;
        link.dispose();
      });
  }

  /**
   * The prerequisites of a package's blueprint at a commit, when already read: a commit never changes, so they are
   * kept, and a termination with thousands of intents deployed asks no one (one await per package was most of it).
   * Kept per package record too, with the commit they were read for: at 10,000 intents, finding the blueprint in
   * each record's intent and looking it up by name took 26 ms per termination.
   */
  #known(r: DeploymentRecord, p: PackageRecord): Prerequisites | undefined {
    const mine = this.#ofPackage.get(p);
    if (mine && mine.commit === p.blueprintCommit) return mine.prerequisites;
    const blueprint = blueprintOf(r, p.package);
    if (!blueprint) return [];
    const found = p.blueprintCommit ? this.#prerequisites.get(`${blueprint}@${p.blueprintCommit}`) : undefined;
    if (found) this.#ofPackage.set(p, { commit: p.blueprintCommit, prerequisites: found });
    return found;
  }

  /** The prerequisites a package's blueprint declares, at the commit its revision resolved. */
  async #prerequisitesOf(r: DeploymentRecord, p: PackageRecord): Promise<Prerequisites> {
    const blueprint = blueprintOf(r, p.package);
    if (!blueprint) return [];
    const commit = p.blueprintCommit;
    try {
      const found = (await this.#o.deps.catalogue.resolve(blueprint, commit || undefined)).blueprint.prerequisites;
      if (commit) {
        this.#prerequisites.set(`${blueprint}@${commit}`, found);
        this.#ofPackage.set(p, { commit, prerequisites: found });
      }
      return found;
    } catch {
      // A blueprint gone from the catalogue since: what it needed cannot be told, so it is not counted.
      return [];
    }
  }
}

type Prerequisites = ResolvedBlueprint["blueprint"]["prerequisites"];

/** The blueprint a package of the record's intent was made from. */
function blueprintOf(r: DeploymentRecord, pkg: string): string | undefined {
  const spec = (r.intentJson as { spec?: { packages?: { name?: string; blueprint?: string }[] } } | undefined)?.spec;
  return spec?.packages?.find((p) => p.name === pkg)?.blueprint;
}
