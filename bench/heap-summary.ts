import { readFileSync } from 'node:fs';

/**
 * `npx tsx bench/heap-summary.ts FILE.heapsnapshot [--top 40] [--min-mb 0.5]`: what holds a V8
 * heap snapshot's memory, without a browser. Prints the self size summed by constructor, then the
 * largest retained sizes (dominator tree, as Chrome's "Retained size") with the path of dominators
 * that leads to each, named by the edges between them (a closure's variable, a property, a Map).
 * Large snapshots need a big heap: `node --max-old-space-size=8000 --import tsx bench/heap-summary.ts …`.
 * `npm run bench -- active` writes one with BENCH_HEAP_SNAPSHOT_DIR set.
 */

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function parseArgs(argv: readonly string[]) {
  let file: string | undefined;
  let top = 40;
  let minMb = 0.5;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--top') top = Number(argv[++i]);
    else if (arg === '--min-mb') minMb = Number(argv[++i]);
    else file = arg;
  }
  if (file === undefined) throw new Error('usage: heap-summary.ts FILE.heapsnapshot [--top 40] [--min-mb 0.5]');
  return { file, top, minMb };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function main(): void {
  const { file, top, minMb } = parseArgs(process.argv.slice(2));
  const data = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = data.snapshot;
  const nodeFieldCount = meta.node_fields.length;
  const edgeFieldCount = meta.edge_fields.length;
  const nodeTypeOffset = meta.node_fields.indexOf('type');
  const nodeNameOffset = meta.node_fields.indexOf('name');
  const selfSizeOffset = meta.node_fields.indexOf('self_size');
  const edgeCountOffset = meta.node_fields.indexOf('edge_count');
  const edgeTypeOffset = meta.edge_fields.indexOf('type');
  const edgeNameOffset = meta.edge_fields.indexOf('name_or_index');
  const edgeToOffset = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weakEdge = edgeTypes.indexOf('weak');
  const shortcutEdge = edgeTypes.indexOf('shortcut');
  const elementEdge = edgeTypes.indexOf('element');
  const hiddenEdge = edgeTypes.indexOf('hidden');
  const { nodes, edges, strings } = data;
  const nodeCount = nodes.length / nodeFieldCount;

  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let n = 0; n < nodeCount; n++) firstEdge[n + 1] = firstEdge[n]! + nodes[n * nodeFieldCount + edgeCountOffset]! * edgeFieldCount;
  const selfSize = (n: number) => nodes[n * nodeFieldCount + selfSizeOffset]!;
  const typeOf = (n: number) => nodeTypes[nodes[n * nodeFieldCount + nodeTypeOffset]!]!;
  const nameOf = (n: number) => strings[nodes[n * nodeFieldCount + nodeNameOffset]!]!;
  const followed = (e: number) => {
    const type = edges[e + edgeTypeOffset]!;
    return type !== weakEdge && type !== shortcutEdge;
  };
  const target = (e: number) => edges[e + edgeToOffset]! / nodeFieldCount;
  const edgeName = (e: number) => {
    const type = edges[e + edgeTypeOffset]!;
    const nameOrIndex = edges[e + edgeNameOffset]!;
    return type === elementEdge || type === hiddenEdge ? `[${nameOrIndex}]` : strings[nameOrIndex]!;
  };

  // Post order from the root (node 0), iteratively; unreachable nodes are left out.
  const postOrder = new Int32Array(nodeCount);
  const orderOf = new Int32Array(nodeCount).fill(-1);
  const visited = new Uint8Array(nodeCount);
  const stackNode = new Int32Array(nodeCount);
  const stackEdge = new Uint32Array(nodeCount);
  let reached = 0;
  let depth = 0;
  stackNode[0] = 0;
  stackEdge[0] = firstEdge[0]!;
  visited[0] = 1;
  while (depth >= 0) {
    const n = stackNode[depth]!;
    const e = stackEdge[depth]!;
    if (e < firstEdge[n + 1]!) {
      stackEdge[depth] = e + edgeFieldCount;
      if (!followed(e)) continue;
      const to = target(e);
      if (visited[to] === 1) continue;
      visited[to] = 1;
      depth++;
      stackNode[depth] = to;
      stackEdge[depth] = firstEdge[to]!;
    } else {
      orderOf[n] = reached;
      postOrder[reached++] = n;
      depth--;
    }
  }

  // Predecessors of each reached node, for the dominators.
  const predecessorCount = new Uint32Array(nodeCount + 1);
  for (let n = 0; n < nodeCount; n++) {
    if (visited[n] === 0) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += edgeFieldCount) if (followed(e)) predecessorCount[target(e) + 1]!++;
  }
  for (let n = 0; n < nodeCount; n++) predecessorCount[n + 1]! += predecessorCount[n]!;
  const predecessors = new Int32Array(predecessorCount[nodeCount]!);
  const filled = predecessorCount.slice(0, nodeCount);
  for (let n = 0; n < nodeCount; n++) {
    if (visited[n] === 0) continue;
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += edgeFieldCount) if (followed(e)) predecessors[filled[target(e)]!++] = n;
  }

  // Cooper, Harvey and Kennedy's iterative dominators, over post-order numbers.
  const root = reached - 1;
  const idom = new Int32Array(reached).fill(-1);
  idom[root] = root;
  for (let changed = true; changed;) {
    changed = false;
    for (let i = root - 1; i >= 0; i--) {
      const n = postOrder[i]!;
      let dominator = -1;
      for (let p = predecessorCount[n]!; p < predecessorCount[n + 1]!; p++) {
        let other = orderOf[predecessors[p]!]!;
        if (other < 0 || idom[other] === -1) continue;
        if (dominator === -1) {
          dominator = other;
          continue;
        }
        let finger = dominator;
        while (finger !== other) {
          while (finger < other) finger = idom[finger]!;
          while (other < finger) other = idom[other]!;
        }
        dominator = finger;
      }
      if (dominator !== -1 && idom[i] !== dominator) {
        idom[i] = dominator;
        changed = true;
      }
    }
  }

  const retained = new Float64Array(reached);
  for (let i = 0; i < reached; i++) retained[i] = selfSize(postOrder[i]!);
  for (let i = 0; i < root; i++) if (idom[i]! >= 0) retained[idom[i]!]! += retained[i]!;

  let total = 0;
  const byConstructor = new Map<string, { count: number; self: number }>();
  for (let i = 0; i < reached; i++) {
    const n = postOrder[i]!;
    const type = typeOf(n);
    const name = type === 'object' || type === 'closure' ? `${nameOf(n)}${type === 'closure' ? '()' : ''}` : `(${type})`;
    const entry = byConstructor.get(name) ?? { count: 0, self: 0 };
    entry.count++;
    entry.self += selfSize(n);
    total += selfSize(n);
    byConstructor.set(name, entry);
  }
  process.stdout.write(`${file}: ${reached.toLocaleString('en')} reachable objects, ${mb(total)}\n\nself size by constructor:\n`);
  for (const [name, { count, self }] of [...byConstructor].sort((a, b) => b[1].self - a[1].self).slice(0, top)) {
    process.stdout.write(`${mb(self).padStart(10)}  ${count.toLocaleString('en').padStart(10)}  ${name.slice(0, 100)}\n`);
  }

  /** The edge from `from` to `to`, by name, if there is one. */
  const nameOfEdge = (from: number, to: number): string => {
    for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += edgeFieldCount) if (target(e) === to) return edgeName(e);
    return '?';
  };
  const label = (n: number) => {
    const type = typeOf(n);
    const name = nameOf(n).replace(/\s+/g, ' ').slice(0, 60);
    return type === 'object' ? name : `${type} ${name}`;
  };
  const pathTo = (i: number): string => {
    const parts: string[] = [];
    for (let at = i, steps = 0; at !== root && steps < 12; steps++) {
      const up = idom[at]!;
      parts.unshift(`${label(postOrder[up]!)} .${nameOfEdge(postOrder[up]!, postOrder[at]!)}`);
      at = up;
    }
    return parts.join(' → ');
  };

  // The largest retainers whose dominator is not itself listed for (almost) the same memory.
  process.stdout.write(`\nlargest retained sizes (≥ ${minMb} MB), each with its dominators:\n`);
  const big = [];
  for (let i = 0; i < root; i++) if (retained[i]! >= minMb * 1024 * 1024) big.push(i);
  big.sort((a, b) => retained[b]! - retained[a]!);
  // The dominator tree's children, for what each large retainer is made of.
  const childStart = new Uint32Array(reached + 1);
  for (let i = 0; i < root; i++) if (idom[i]! >= 0) childStart[idom[i]! + 1]!++;
  for (let i = 0; i < reached; i++) childStart[i + 1]! += childStart[i]!;
  const children = new Int32Array(childStart[reached]!);
  const next = childStart.slice(0, reached);
  for (let i = 0; i < root; i++) if (idom[i]! >= 0) children[next[idom[i]!]!++] = i;
  const madeOf = (i: number): string => {
    const sums = new Map<string, { count: number; self: number }>();
    const stack = [i];
    while (stack.length > 0) {
      const at = stack.pop()!;
      const n = postOrder[at]!;
      const type = typeOf(n);
      const name = type === 'object' ? nameOf(n) : `(${type})`;
      const entry = sums.get(name) ?? { count: 0, self: 0 };
      entry.count++;
      entry.self += selfSize(n);
      sums.set(name, entry);
      for (let c = childStart[at]!; c < childStart[at + 1]!; c++) stack.push(children[c]!);
    }
    return [...sums]
      .sort((a, b) => b[1].self - a[1].self)
      .slice(0, 6)
      .map(([name, { count, self }]) => `${name.slice(0, 30)} ${count}×${Math.round(self / count)} B`)
      .join(', ');
  };
  for (const i of big.slice(0, top)) {
    const n = postOrder[i]!;
    process.stdout.write(`${mb(retained[i]!).padStart(10)}  ${label(n)} (self ${selfSize(n)})\n            ${pathTo(i)}\n            made of: ${madeOf(i)}\n`);
  }
}

main();
