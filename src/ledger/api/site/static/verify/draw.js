// The checks of a draw bundle (draw v2, bundle v4 / v4-public), in the order and with the names of
// docs/verify_draw.py (docs/draw-spec.md §11): a port of that program, check for check, so that both
// reach the same verdict and name the same first failing check.
import { LOCAL_TEST_BEACON, blsProblem, chainInfo } from './beacon.js';
import { sample } from './sampler.js';
import { ed25519Engine, verifyEd25519 } from './signature.js';
import {
  DAY_MICROS, Rejected, canonicalJson, concat, day, fromBase64, fromHex, get, hmacSha256, isInt, leafHash,
  merkleRoot, moment, need, pyCompare, pyEqual, pySorted, rootFromInclusion, same, sha256, show, toHex,
  unixSeconds, utf8,
} from './util.js';

export const CLASSES = ['A', 'B', 'C', 'D'];
export const BUNDLE_FORMAT = 'drledger-draw-bundle/v4';
export const PUBLIC_FORMAT = 'drledger-draw-bundle/v4-public';
const COMMITMENT_TAG = utf8('drledger/pool-commitment/v1\n');
const SALT_KEY_TAG = utf8('drledger/salt-key/v1\n');
const DRAW_VERSION = 'v2';
const SEED_TAG = 'drledger/draw-seed/v2';
const COMMAND_TAG = utf8('drledger/command/v2\n');
const MAX_BEACONS = 4;
const HEX64 = /^[0-9a-f]{64}$/;
const RATIO_FORM = /^(0|1)(\.[0-9]+)?$/;
const INPUT_FIELDS = ['committed_at', 'conflicts', 'cooling_off_days', 'departments', 'excluded', 'experts_per_target',
  'inspectors', 'inspectors_per_target', 'items', 'load_cap', 'pool', 'position', 'quotas', 'salt_key', 'task_id',
  'version', 'window_end'];
const PUBLIC_INPUT_FIELDS = pySorted([...INPUT_FIELDS.filter((f) => f !== 'salt_key'), 'salt_key_digest']);
const BUNDLE_FIELDS = ['attempts', 'beacons', 'changes', 'commitment', 'drawer', 'format', 'inputs', 'origin',
  'recorded', 'voided'];
const CANDIDATE_FIELDS = ['badge', 'certificate_no', 'certificate_valid_until', 'department', 'qualifications', 'role',
  'since', 'status'];
const CHANGE_FIELDS = ['actor', 'event_hash', 'fields', 'kind', 'position', 'public_key', 'signed', 'task_version'];
const SUBSTITUTED_FIELDS = ['actor', 'basis', 'joining', 'leaving', 'reason', 'target', 'task_id', 'timestamp'];
const EXTENDED_FIELDS = ['actor', 'reason', 'risk_class', 'targets', 'task_id', 'teams', 'timestamp'];
const BASIS = { recuse: 'recusal', substitute: 'approval' };

/** The checks, in order, with their labels (Chinese first). */
export const CHECKS = [
  ['format', '格式'], ['inputs', '冻结的输入'], ['inputs digest', '输入摘要'], ['pool', '抽查名录的默克尔根'],
  ['commitment', '承诺'], ['beacon rounds', '信标轮次'], ['beacon timing', '信标发布时间'],
  ['beacon randomness', '信标随机数'], ['beacon signatures', '信标 BLS 签名'], ['seed', '随机种子'],
  ['targets', '抽中的市场主体'], ['teams', '检查组'], ['outcome digest', '结果摘要'], ['attempts', '历次抽取'],
  ['commit signature', '承诺命令的签名'], ['run signature', '抽取命令的签名'], ['changes', '替换与补抽'],
  ['change signatures', '变更命令的签名'], ['checkpoint inclusion', '检查点包含证明'],
];

// -- Salted commitments (docs/draw-spec.md §2) ----------------------------------------

export const firmSalt = (saltKey, uscc) => hmacSha256(fromHex(saltKey), utf8(uscc));
export const firmCommitment = (salt, uscc) => toHex(sha256(concat(COMMITMENT_TAG, salt, utf8(uscc))));

function publicForm(inputs) {
  const key = inputs.salt_key;
  const c = (u) => firmCommitment(firmSalt(key, u), u);
  const covered = {};
  for (const [n, v] of Object.entries(inputs)) if (n !== 'salt_key') covered[n] = v;
  covered.salt_key_digest = toHex(sha256(concat(SALT_KEY_TAG, fromHex(key))));
  covered.pool = Object.fromEntries(Object.entries(inputs.pool).map(([k, v]) => [k, pySorted(v.map(c))]));
  covered.excluded = pySorted(inputs.excluded.map(c));
  covered.conflicts = pySorted(inputs.conflicts.map(([b, u]) => [b, c(u)]));
  return covered;
}

const classRoot = (ids) => toHex(merkleRoot(pySorted(ids).map((i) => leafHash(utf8(i)))));
const classLeaves = (roots) => CLASSES.map((k) => leafHash(utf8(`${k}:${roots[k]}`)));
const poolRoot = (roots) => toHex(merkleRoot(classLeaves(roots)));

// -- Inputs, seed, counts ---------------------------------------------------------------

function checkInputs(inputs, isPublic) {
  same('input fields', pySorted(inputs), isPublic ? PUBLIC_INPUT_FIELDS : INPUT_FIELDS);
  same('draw version', inputs.version, DRAW_VERSION);
  const key = inputs[isPublic ? 'salt_key_digest' : 'salt_key'];
  need(typeof key === 'string' && HEX64.test(key), 'the salt key (or its digest) is not 64 hex digits');
  if (isPublic) {
    for (const [k, v] of Object.entries(inputs.pool)) {
      need(v.every((c) => typeof c === 'string' && HEX64.test(c)), `class ${k}: a commitment is not 64 hex`);
      same(`class ${k}: commitments in sorted order`, v, pySorted(v));
    }
    same('excluded commitments in sorted order', inputs.excluded, pySorted(inputs.excluded));
    same('conflicts in sorted order', inputs.conflicts, pySorted(inputs.conflicts));
  }
  need(typeof inputs.task_id === 'string' && !inputs.task_id.includes('\n'), 'task_id is not one line of text');
  need(isInt(inputs.cooling_off_days) && inputs.cooling_off_days >= 0, 'cooling_off_days is not >= 0');
  moment(inputs.committed_at);
  day(inputs.window_end, 'window_end');
  if (typeof inputs.inspectors_per_target !== 'number') throw new TypeError('inspectors_per_target is not a number');
  need(inputs.inspectors_per_target >= 2, 'inspectors_per_target is below 2');
  for (const k of new Set([...Object.keys(inputs.quotas), ...Object.keys(inputs.pool)])) {
    need(CLASSES.includes(k), `unknown risk class ${show(k)}`);
  }
  for (const [k, quota] of Object.entries(inputs.quotas)) {
    const ratio = get(quota, 'ratio', null);
    const count = get(quota, 'count', null);
    need((ratio === null) !== (count === null), `class ${k}: the quota must give exactly one of ratio and count`);
    if (count !== null) {
      if (typeof count !== 'number') throw new TypeError(`class ${k}: count is not a number`);
      need(count >= 0, `class ${k}: negative count`);
    }
    if (ratio !== null) {
      need(typeof ratio === 'string' && RATIO_FORM.test(ratio), `class ${k}: ratio ${show(ratio)} is not a plain decimal`);
      const [num, den] = fraction(ratio);
      need(num > 0n && num <= den, `class ${k}: ratio outside (0, 1]`);
    }
  }
  const seen = new Map();
  for (const k of CLASSES) {
    for (const uscc of get(inputs.pool, k, [])) {
      need(!seen.has(uscc), `pool: ${uscc} is listed in class ${seen.get(uscc)} and again in class ${k}`);
      seen.set(uscc, k);
    }
  }
  for (const uscc of inputs.excluded) need(!seen.has(uscc), `pool: ${uscc} is both excluded and in class ${seen.get(uscc)}`);
  for (const c of inputs.inspectors) {
    same(`fields of inspector ${get(c, 'badge', null)}`, pySorted(c), CANDIDATE_FIELDS);
    moment(c.since);
    if (c.certificate_valid_until !== null) day(c.certificate_valid_until, `certificate_valid_until of ${c.badge}`);
  }
  return `draw ${inputs.version} of task ${inputs.task_id}, frozen at position ${inputs.position}: ${seen.size} firms`
    + `${isPublic ? ' (salted commitments)' : ''}, ${inputs.inspectors.length} inspectors, ${inputs.conflicts.length} conflicts`;
}

/** A plain decimal "0.125" as the exact fraction [125n, 1000n]. */
function fraction(text) {
  const [whole, part = ''] = text.split('.');
  return [BigInt(whole + part), 10n ** BigInt(part.length)];
}

const inputsDigest = (covered) => toHex(sha256(utf8(canonicalJson(covered))));

function deriveSeed(taskId, digest, beacons) {
  const lines = [SEED_TAG, taskId, digest, ...beacons.map((b) => `${b.chain_hash}:${b.round}:${b.randomness}`)];
  return toHex(sha256(utf8(lines.join('\n'))));
}

/** ceil(ratio x N) in exact arithmetic, or the count; never more than N. */
function targetCount(quota, available) {
  if (quota === undefined || quota === null) return 0;
  const count = get(quota, 'count', null);
  if (count !== null) return Math.min(count, available);
  const [num, den] = fraction(quota.ratio);
  const product = num * BigInt(available);
  return Math.min(Number((product + den - 1n) / den), available);
}

function certified(candidate, windowEnd) {
  return Boolean(candidate.certificate_no) && candidate.certificate_valid_until !== null
    && pyCompare(candidate.certificate_valid_until, windowEnd) >= 0;
}

/** The record was in force at least cooling_off_days before the commitment. */
function cooledOff(candidate, inputs) {
  return moment(candidate.since) <= moment(inputs.committed_at) - BigInt(inputs.cooling_off_days) * DAY_MICROS;
}

// -- The draw (docs/draw-spec.md §4-§7c) ---------------------------------------------------

function drawTeam(target, seed, officers, departmentOf, needed, size) {
  const missing = [...needed];
  const team = [];
  for (const badge of sample(`${seed},inspectors,${target}`, officers)) {
    if (team.length === size) break;
    const at = missing.indexOf(departmentOf.get(badge));
    if (at >= 0) {
      missing.splice(at, 1);
      team.push(badge);
    } else if (size - team.length > missing.length) {
      team.push(badge);
    }
  }
  need(team.length === size && missing.length === 0,
    `target ${target}: no team can be formed (the ledger would have refused this draw)`);
  return team;
}

function loadOf(teams) {
  const load = new Map();
  for (const team of teams) for (const badge of team.inspectors) load.set(badge, (load.get(badge) || 0) + 1);
  return load;
}

const conflictKey = (badge, commitment) => JSON.stringify([badge, commitment ?? null]);

class Draw {
  constructor(inputs, seed, firmOf) {
    this.inputs = inputs;
    this.seed = seed;
    const pool = Object.fromEntries(CLASSES.map((k) => [k, pySorted(get(inputs.pool, k, []))]));
    this.drawn = {};
    for (const k of CLASSES) {
      this.drawn[k] = sample(seed, pool[k], targetCount(get(inputs.quotas, k, null), pool[k].length));
      this.drawn[k].forEach((c, i) => need(firmOf.has(c),
        `class ${k}: target #${i + 1} is commitment ${c}, which the bundle does not reveal`));
    }
    this.targets = Object.fromEntries(CLASSES.map((k) => [k, this.drawn[k].map((c) => firmOf.get(c))]));
    this.firmOf = firmOf;
    this.commitmentOf = new Map([...firmOf].map(([c, u]) => [u, c]));
    this.itemCodes = new Set(inputs.items.map((item) => item.code));
    this.itemDepartments = new Set(inputs.items.map((item) => item.department));
    this.conflicts = new Set(inputs.conflicts.map(([badge, c]) => conflictKey(badge, c)));
    this.departmentOf = new Map(inputs.inspectors.map((c) => [c.badge, c.department]));
    const drawable = inputs.inspectors.filter((c) => c.status === 'active' && cooledOff(c, inputs));
    this.officers = drawable.filter((c) => c.role === 'enforcement' && this.serves(c)).map((c) => c.badge);
    this.experts = drawable.filter((c) => c.role === 'expert').map((c) => c.badge);
  }

  serves(c) {
    return this.inputs.departments.includes(c.department)
      && c.qualifications.some((q) => this.itemCodes.has(q) || this.itemDepartments.has(q))
      && certified(c, this.inputs.window_end);
  }

  conflicted(badge, target) {
    return this.conflicts.has(conflictKey(badge, this.commitmentOf.get(target)));
  }

  teams() {
    return this.teamsFor(CLASSES.flatMap((k) => this.targets[k]), []);
  }

  teamsFor(targets, earlier) {
    const { inputs, seed } = this;
    const size = Math.max(inputs.inspectors_per_target, inputs.departments.length);
    const needed = inputs.departments.length > 1 ? [...new Set(inputs.departments)] : [];
    const cap = inputs.load_cap;
    const perTarget = inputs.experts_per_target;
    const load = loadOf(earlier);
    const teams = [];
    for (const target of targets) {
      if (!this.commitmentOf.has(target)) throw new Rejected(`target ${target} has no commitment`);
      const free = this.officers.filter((b) => !this.conflicted(b, target) && (cap === null || (load.get(b) || 0) < cap));
      const team = drawTeam(target, seed, free, this.departmentOf, needed, size);
      let chosen = [];
      if (perTarget) {
        const available = this.experts.filter((b) => !this.conflicted(b, target));
        need(available.length >= perTarget, `target ${target}: too few experts (the ledger would have refused)`);
        chosen = sample(`${seed},experts,${target}`, available, perTarget);
      }
      for (const badge of team) load.set(badge, (load.get(badge) || 0) + 1);
      teams.push({ experts: chosen, inspectors: team, target });
    }
    return teams;
  }

  successor(teams, target, leaving, leftBefore) {
    const cap = this.inputs.load_cap;
    const load = loadOf(teams);
    const team = teams.find((t) => t.target === target);
    need(team !== undefined && team.inspectors.includes(leaving), `${leaving} is not an officer of the team of ${target}`);
    const gone = new Set([leaving, ...leftBefore, ...team.inspectors]);
    const free = this.officers.filter((b) => !this.conflicted(b, target) && !gone.has(b)
      && (cap === null || (load.get(b) || 0) < cap));
    const joint = this.inputs.departments.length > 1;
    for (const badge of sample(`${this.seed},inspectors,${target}`, free)) {
      if (!joint || this.departmentOf.get(badge) === this.departmentOf.get(leaving)) return badge;
    }
    throw new Rejected(`target ${target}: no drawable officer left to take ${leaving}'s place`);
  }

  more(targets, teams, k, count) {
    need(CLASSES.includes(k), `unknown risk class ${show(k)}`);
    need(count >= 1, 'an extension draws at least one more target');
    const drawn = targets[k].map((u) => this.commitmentOf.get(u));
    const order = sample(this.seed, pySorted(get(this.inputs.pool, k, [])), drawn.length + count);
    same(`class ${k}: the targets drawn so far as the start of the draw's order`, order.slice(0, drawn.length), drawn);
    need(order.length - drawn.length === count, `class ${k}: only ${order.length - drawn.length} more firm(s) in the pool`);
    for (const c of order.slice(drawn.length)) {
      need(this.firmOf.has(c), `class ${k}: the extension's commitment ${c} is not revealed by the bundle`);
    }
    const more = order.slice(drawn.length).map((c) => this.firmOf.get(c));
    return [more, this.teamsFor(more, teams)];
  }

  whyNot(badge, target, role) {
    const c = this.inputs.inspectors.find((x) => x.badge === badge);
    const { inputs } = this;
    if (c === undefined) return `${badge} is not in the inputs' inspector list`;
    if (c.status !== 'active') return `${badge} is ${c.status}, not active`;
    if (!cooledOff(c, inputs)) {
      return `${badge}'s record is in force since ${c.since}, less than ${inputs.cooling_off_days} day(s) before the`
        + ` commitment (${inputs.committed_at}): within the cooling-off period`;
    }
    if (this.conflicted(badge, target)) return `${badge} declared a conflict of interest (回避) with ${target}`;
    if (role === 'enforcement' && c.role === role && !certified(c, inputs.window_end)) {
      const held = c.certificate_no && c.certificate_valid_until
        ? `${badge}'s certificate ${c.certificate_no} is valid until ${c.certificate_valid_until}`
        : `${badge} holds no dated certificate`;
      return `${held}: an enforcement officer needs an enforcement certificate (执法证) valid through the task's`
        + ` window_end ${inputs.window_end}`;
    }
    if (c.role !== role || (role === 'enforcement' && !this.serves(c))) {
      return `${badge} is not a qualified ${role} of the task's departments`;
    }
    return null;
  }

  /** The rules a recorded team breaks, named (for the message). */
  reasons(theirs) {
    const target = get(theirs, 'target', null);
    const out = [];
    for (const [role, key] of [['enforcement', 'inspectors'], ['expert', 'experts']]) {
      for (const b of get(theirs, key, [])) {
        const r = this.whyNot(b, target, role);
        if (r) out.push(r);
      }
    }
    return out;
  }
}

// -- Signed commands, attempts, changes ----------------------------------------------------

async function checkSigned(part, actor, name, body) {
  const commandBytes = fromBase64(part.signed.command);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(commandBytes);
  const command = JSON.parse(text);
  same('signed command encoding', canonicalJson(command), text);
  same('signed command fields', pySorted(command), ['actor', 'alg', 'body', 'issued_at', 'name', 'nonce']);
  same('signed command algorithm', command.alg, 'ed25519');
  same('signed command name', command.name, name);
  same('signed command actor', command.actor, actor);
  same('signed command body', command.body, body);
  need(part.public_key !== null, `the bundle carries no public key for ${actor}`);
  const publicKey = fromBase64(part.public_key);
  same('key id', toHex(sha256(publicKey)).slice(0, 16), part.signed.key_id);
  const where = `${name} by ${actor}, key ${part.signed.key_id}, issued ${command.issued_at}`;
  const signature = fromBase64(part.signed.signature);
  const valid = await verifyEd25519(publicKey, signature, concat(COMMAND_TAG, commandBytes));
  need(valid, `the Ed25519 signature of ${name} does not verify under ${actor}'s key`);
  return `${where}: signature valid (Ed25519, ${await ed25519Engine()})`;
}

function checkAttempts(bundle) {
  const { attempts, commitment, recorded } = bundle;
  let state = 'free';
  let last = 0;
  const moves = { 'free commit': 'committed', 'committed run': 'drawn', 'committed void': 'free', 'drawn void': 'free' };
  attempts.forEach((a, i) => {
    const number = i + 1;
    same(`attempt ${number}: fields`, pySorted(a), ['actor', 'kind', 'position', 'reason']);
    need(last < a.position && a.position < commitment.event_position,
      `attempt ${number} at position ${a.position} is out of ledger order (before the commitment)`);
    need(['commit', 'run', 'void'].includes(a.kind), `attempt ${number}: unknown kind ${show(a.kind)}`);
    need((a.kind === 'void') === (typeof a.reason === 'string' && a.reason !== ''),
      `attempt ${number}: a void, and only a void, gives a reason`);
    const move = moves[`${state} ${a.kind}`];
    need(move !== undefined, `attempt ${number}: a ${a.kind} cannot follow a task ${state}`);
    state = move;
    last = a.position;
  });
  need(state === 'free', `the earlier attempts leave the task ${state}: the commitment could not have been made`);
  same("the commitment's place in the task's events (creation + attempts + 1)", attempts.length + 2, commitment.task_version);
  same("the draw's place in the task's events (right after its commitment)", commitment.task_version + 1, recorded.task_version);
  const { voided } = bundle;
  if (voided !== null) {
    need(voided.position > recorded.event_position && Boolean(voided.reason),
      'the later void is not after the draw, or gives no reason');
  }
  const kinds = attempts.map((a) => `${a.kind}@${a.position}`).join(', ') || 'none';
  const standing = voided ? `VOIDED at position ${voided.position} (${voided.reason})` : 'standing';
  return `${attempts.length} earlier attempt(s): ${kinds}; this draw is ${standing}`;
}

function checkChanges(bundle, draw, drawnTeams) {
  const { recorded, inputs, voided } = bundle;
  const targets = Object.fromEntries(CLASSES.map((k) => [k, [...draw.targets[k]]]));
  const teams = drawnTeams.map((t) => ({ experts: [...t.experts], inspectors: [...t.inspectors], target: t.target }));
  const left = new Map();
  let substitutions = 0;
  let last = recorded.event_position;
  let replaced = 0;
  let added = 0;
  bundle.changes.forEach((c, i) => {
    const number = i + 1;
    const where = `change ${number} (${get(c, 'kind', null)} at position ${get(c, 'position', null)})`;
    same(`${where}: fields`, pySorted(c), CHANGE_FIELDS);
    need(['recuse', 'substitute', 'extend'].includes(c.kind), `${where}: unknown kind`);
    need(last < c.position && (voided === null || c.position < voided.position),
      `${where} is out of ledger order (after the draw, and before its void if any)`);
    same(`${where}: its place in the task's events (the draw's + ${number})`, c.task_version, recorded.task_version + number);
    same(`${where}: position of its command (right before its event)`, c.signed.position, c.position - 1);
    const f = c.fields;
    same(`${where}: event fields`, pySorted(f), c.kind === 'extend' ? EXTENDED_FIELDS : SUBSTITUTED_FIELDS);
    same(`${where}: task`, f.task_id, inputs.task_id);
    same(`${where}: actor`, f.actor, c.actor);
    need(typeof f.reason === 'string' && f.reason.trim() !== '', `${where}: no reason given`);
    moment(f.timestamp);
    if (c.kind === 'extend') {
      const k = f.risk_class;
      const [more, fresh] = draw.more(targets, teams, k, f.targets.length);
      more.forEach((mine, j) => {
        if (j < f.targets.length) same(`${where}: class ${k}: extra target #${j + 1}`, mine, f.targets[j]);
      });
      same(`${where}: number of teams`, fresh.length, f.teams.length);
      fresh.forEach((mine, j) => {
        const theirs = f.teams[j];
        if (!pyEqual(mine, theirs)) {
          throw new Rejected(`${where}: team for target ${mine.target}: recomputed ${show(mine)}, recorded ${show(theirs)}`
            + draw.reasons(theirs).map((r) => `; ${r}`).join(''));
        }
      });
      targets[k].push(...more);
      teams.push(...fresh);
      added += more.length;
    } else {
      same(`${where}: basis`, f.basis, BASIS[c.kind]);
      if (c.kind === 'recuse') {
        same(`${where}: the recusing officer (回避 is signed by the officer itself)`, c.actor, f.leaving);
      }
      substitutions += 1;
      const cap = Math.max(1, Math.floor(teams.length / 10));
      need(substitutions <= cap, `${where}: substitution ${substitutions} of this draw; it allows ${cap}`
        + ' (one in ten targets, at least one)');
      const { target, leaving } = f;
      const joining = draw.successor(teams, target, leaving, left.get(target) || []);
      same(`${where}: successor of ${leaving} in the team of ${target}`, joining, f.joining);
      const team = teams.find((t) => t.target === target);
      team.inspectors = team.inspectors.map((b) => (b === leaving ? joining : b));
      left.set(target, [...(left.get(target) || []), leaving]);
      replaced += 1;
    }
    last = c.position;
  });
  if (bundle.changes.length === 0) return 'none: the teams stand as drawn';
  const kinds = bundle.changes.map((c) => `${c.kind}@${c.position}`).join(', ');
  return `${bundle.changes.length} change(s): ${kinds}; final: ${teams.length} teams (${replaced} officer(s) replaced,`
    + ` ${added} target(s) added)`;
}

function changeBody(change) {
  const f = change.fields;
  if (change.kind === 'extend') return { count: f.targets.length, reason: f.reason, risk_class: f.risk_class, task_id: f.task_id };
  if (change.kind === 'recuse') return { reason: f.reason, target: f.target, task_id: f.task_id };
  return { officer: f.leaving, reason: f.reason, target: f.target, task_id: f.task_id };
}

/** The draw's event in the ledger's log (docs/transparency-log.md): an inclusion proof as `drledger log
 * prove --index (event_position - 1)` prints it, {leafIdx, treeSize, root, leafHash, proof}, base64. */
function checkInclusion(recorded, proof) {
  const leaf = fromBase64(proof.leafHash);
  same("the proof's leaf (leaf hash of the draw's event hash)", toHex(leaf), toHex(leafHash(fromHex(recorded.event_hash))));
  same("the proof's leaf index (the draw's event position - 1)", proof.leafIdx, recorded.event_position - 1);
  const root = rootFromInclusion(leaf, proof.leafIdx, proof.treeSize, proof.proof.map(fromBase64));
  same('root from the inclusion proof', toHex(root), toHex(fromBase64(proof.root)));
  return `the draw's event (position ${recorded.event_position}) is in the log of size ${proof.treeSize}, root`
    + ` ${toHex(root)}: compare it with the checkpoint of that size (and its witness cosignatures)`;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Run the checks in order. `report(check, status, text)` is called with status 'running', then 'pass',
 * 'fail', 'skip' or 'note'. `inclusion`: an optional inclusion proof of the draw's event.
 * Resolves to {verdict: 'pass' | 'fail', failed: check name or null, message}.
 */
export async function verifyBundle(bundle, { report = () => {}, inclusion = null } = {}) {
  let step = 'format';
  const begin = async (name) => {
    step = name;
    report(step, 'running', '');
    await tick();
  };
  const ok = (text) => report(step, 'pass', text);
  const note = (text) => report(step, 'note', text);
  try {
    await begin('format');
    need(bundle !== null && typeof bundle === 'object' && !Array.isArray(bundle), 'the bundle is not a JSON object');
    const isPublic = bundle.format === PUBLIC_FORMAT;
    need(isPublic || bundle.format === BUNDLE_FORMAT,
      `bundle format ${show(bundle.format)} is neither ${show(BUNDLE_FORMAT)} nor ${show(PUBLIC_FORMAT)}`);
    same('bundle fields', pySorted(bundle), isPublic ? pySorted([...BUNDLE_FIELDS, 'revealed']) : BUNDLE_FIELDS);
    const given = bundle.inputs;
    const { commitment, recorded } = bundle;
    ok(`${bundle.format} from ledger ${show(bundle.origin)} (check its event hashes against a checkpoint)`);

    await begin('inputs');
    ok(checkInputs(given, isPublic));
    let inputs;
    let salts;
    if (isPublic) {
      need(!Object.hasOwn(commitment, 'salt_key'), 'a public bundle carries the salt key');
      inputs = given;
      salts = new Map(Object.entries(bundle.revealed).map(([u, s]) => [u, fromHex(s)]));
      need([...salts.values()].every((s) => s.length === 32), 'a revealed salt is not 32 bytes');
      const extended = (Array.isArray(bundle.changes) ? bundle.changes : [])
        .filter((c) => c !== null && typeof c === 'object' && !Array.isArray(c) && get(c, 'kind', null) === 'extend')
        .flatMap((c) => get(get(c, 'fields', {}), 'targets', []));
      same("revealed firms (exactly the drawn targets and 补抽's)", pySorted([...salts.keys()]),
        pySorted([...Object.values(recorded.targets).flat(), ...extended]));
    } else {
      same('salt key recorded with the commitment', commitment.salt_key, given.salt_key);
      inputs = publicForm(given);
      salts = new Map(Object.values(given.pool).flat().map((u) => [u, firmSalt(given.salt_key, u)]));
    }
    const firmOf = new Map([...salts].map(([u, salt]) => [firmCommitment(salt, u), u]));

    await begin('inputs digest');
    const digest = inputsDigest(inputs);
    same("inputs digest (the commitment's)", digest, commitment.inputs_digest);
    same("inputs digest (the draw's)", digest, recorded.inputs_digest);
    ok(digest);

    await begin('pool');
    const pool = Object.fromEntries(CLASSES.map((k) => [k, get(inputs.pool, k, [])]));
    const roots = Object.fromEntries(CLASSES.map((k) => [k, classRoot(pool[k])]));
    for (const k of CLASSES) {
      same(`class ${k}: pool size`, pool[k].length, get(commitment.counts, k, null));
      same(`class ${k}: pool root`, roots[k], get(commitment.pool_roots, k, null));
    }
    same('pool root', poolRoot(roots), commitment.pool_root);
    same('firms left out as recently inspected', inputs.excluded.length, commitment.excluded);
    ok(`pool root ${poolRoot(roots)} (${CLASSES.map((k) => `${k} ${pool[k].length}`).join(', ')})`);

    await begin('commitment');
    for (const name of ['task_id', 'position', 'committed_at', 'cooling_off_days']) {
      same(`commitment ${name}`, commitment[name], inputs[name]);
    }
    same('draw task_id', recorded.task_id, inputs.task_id);
    same("draw position (the commitment's)", recorded.position, inputs.position);
    same('position of the draw.commit command (right after the frozen position)', commitment.signed.position, inputs.position + 1);
    same("position of the commitment's event", commitment.event_position, inputs.position + 2);
    same("position of the draw's event (right after its draw.run)", recorded.event_position, bundle.drawer.signed.position + 1);
    need(recorded.event_position > commitment.event_position, 'the draw is recorded before its commitment');
    ok(`inputs frozen at position ${inputs.position}, committed at ${commitment.event_position}`
      + ` (${commitment.committed_at}), drawn at ${recorded.event_position}`);

    await begin('beacon rounds');
    const named = commitment.beacons;
    const used = recorded.beacons;
    need(named.length >= 1 && named.length <= MAX_BEACONS, `the commitment names ${named.length} beacon rounds (1 to ${MAX_BEACONS})`);
    same('beacon networks given', pySorted(bundle.beacons), pySorted([...new Set(named.map((b) => b.network))]));
    need(named.length === Object.keys(bundle.beacons).length, 'a beacon network is named twice');
    const infos = new Map();
    for (const b of named) {
      const info = chainInfo(b.network, bundle.beacons[b.network]);
      infos.set(b.network, info);
      same(`${b.network}: chain hash named`, b.chain_hash, info.hash);
      need(isInt(b.round) && b.round >= 1 && b.round < 2 ** 63, `${b.network}: round ${show(b.round)}`);
      same(`${b.network} round ${b.round}: publication time`, b.published_at, info.genesisTime + (b.round - 1) * info.period);
    }
    same('beacon rounds used by the draw', used.map((b) => [b.network, b.chain_hash, b.round]),
      named.map((b) => [b.network, b.chain_hash, b.round]));
    same('number of beacon signatures', recorded.signatures.length, named.length);
    ok(named.map((b) => `${b.network} round ${b.round} (chain ${b.chain_hash})`).join(', '));
    for (const b of named) {
      if (b.network === LOCAL_TEST_BEACON) {
        note(`WARNING: ${LOCAL_TEST_BEACON} is a LOCAL TEST beacon, not public randomness: whoever holds its seed`
          + " chose this draw's randomness (demo and tests only) / 本地测试信标，不是公开随机源");
      }
    }

    await begin('beacon timing');
    const committed = unixSeconds(commitment.committed_at);
    for (const b of named) {
      need(b.published_at > committed, `${b.network} round ${b.round} was published at ${b.published_at}, not after`
        + ` the commitment (${commitment.committed_at}, ${committed})`);
    }
    ok(`every round published after the commitment (${committed}): `
      + named.map((b) => `${b.round} at ${b.published_at}`).join(', '));

    await begin('beacon randomness');
    const signatures = [];
    for (let i = 0; i < Math.min(used.length, recorded.signatures.length); i++) {
      const b = used[i];
      const text = recorded.signatures[i];
      need(typeof text === 'string' && /^(?:[0-9a-fA-F]{2}){48}$/.test(text), `round ${b.round}: the signature is not 48 bytes of hex`);
      signatures.push(fromHex(text));
      same(`${b.network} round ${b.round}: randomness = SHA-256(signature)`, toHex(sha256(signatures[i])), b.randomness);
    }
    ok("each round's randomness is the SHA-256 of its signature");

    await begin('beacon signatures');
    for (let i = 0; i < signatures.length; i++) {
      const b = used[i];
      const problem = blsProblem(infos.get(b.network).publicKey, b.round, signatures[i]);
      need(problem === null, `${b.network} round ${b.round}: ${problem}`);
    }
    ok("each signature is its network's BLS signature of its round (BLS12-381)");

    await begin('seed');
    const seed = deriveSeed(inputs.task_id, digest, used);
    same('seed', seed, recorded.seed);
    ok(seed);

    await begin('targets');
    const draw = new Draw(inputs, seed, firmOf);
    same('risk classes with targets', pySorted(recorded.targets), CLASSES);
    for (const k of CLASSES) {
      const mine = draw.targets[k];
      const theirs = recorded.targets[k];
      for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
        same(`class ${k}: target #${i + 1}`, i < mine.length ? mine[i] : null, i < theirs.length ? theirs[i] : null);
      }
    }
    ok(CLASSES.map((k) => `${k} ${draw.targets[k].length}/${pool[k].length}`).join(', '));

    await begin('teams');
    const teams = draw.teams();
    same('number of teams', teams.length, recorded.teams.length);
    teams.forEach((mine, i) => {
      const theirs = recorded.teams[i];
      if (!pyEqual(mine, theirs)) {
        throw new Rejected(`team for target ${mine.target}: recomputed ${show(mine)}, recorded ${show(theirs)}`
          + draw.reasons(theirs).map((r) => `; ${r}`).join(''));
      }
    });
    ok(`${teams.length} teams, each led by its first inspector (组长)`);

    await begin('outcome digest');
    const outcome = toHex(sha256(utf8(canonicalJson({ targets: draw.targets, teams }))));
    same('outcome digest', outcome, recorded.outcome_digest);
    ok(outcome);

    await begin('attempts');
    ok(checkAttempts(bundle));

    await begin('commit signature');
    ok(await checkSigned(commitment, commitment.actor, 'draw.commit', {
      task_id: inputs.task_id, beacons: named.map((b) => ({ network: b.network, round: b.round })),
    }));

    await begin('run signature');
    same('drawer', bundle.drawer.actor, recorded.actor);
    ok(await checkSigned(bundle.drawer, recorded.actor, 'draw.run', { task_id: inputs.task_id, signatures: recorded.signatures }));

    await begin('changes');
    ok(checkChanges(bundle, draw, teams));

    await begin('change signatures');
    for (const [i, change] of bundle.changes.entries()) {
      try {
        note(`change ${i + 1}: ` + await checkSigned(change, change.actor, `draw.${change.kind}`, changeBody(change)));
      } catch (error) {
        if (!(error instanceof Rejected)) throw error;
        throw new Rejected(`change ${i + 1} (${change.kind} at position ${change.position}): ${error.message}`);
      }
    }
    ok(bundle.changes.length ? `${bundle.changes.length} signed change command(s)` : 'none');

    await begin('checkpoint inclusion');
    if (inclusion === null) {
      report(step, 'skip', 'no inclusion proof given: compare the event hashes with a checkpoint / 未提供包含证明');
    } else {
      ok(checkInclusion(recorded, inclusion));
    }
  } catch (error) {
    const message = error instanceof Rejected ? error.message : `malformed bundle (${error.name}: ${error.message})`;
    report(step, 'fail', message);
    return { verdict: 'fail', failed: step, message };
  }
  return { verdict: 'pass', failed: null, message: 'OK' };
}
