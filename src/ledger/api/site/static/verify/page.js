// The verification page: takes a public draw bundle (from `?bundle=URL` on the same site, from the
// element's data-bundle-url, or a file the visitor chooses), runs every check in the visitor's own
// browser, shows each as it runs, and ends by setting #verdict's data-verdict to "pass" or "fail".
// Nothing from the bundle is ever inserted as HTML (textContent only).
import { CHECKS, verifyBundle } from './draw.js';

const STATUS = {
  pending: ['待检', 'pending'], running: ['检查中', 'running'], pass: ['通过', 'pass'], fail: ['未通过', 'FAIL'],
  skip: ['未检查', 'skipped'], notrun: ['未运行', 'not run'],
};
const LABEL = Object.fromEntries(CHECKS);
LABEL.download = '下载抽取包';
LABEL.read = '读取文件';

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
}

function bilingual(zh, en) {
  return [zh, ' ', el('span', { lang: 'en' }, en)];
}

class Verifier {
  constructor(root) {
    this.root = root;
    this.list = root.querySelector('#checks');
    this.verdict = root.querySelector('#verdict');
    this.source = root.querySelector('#source-status');
    this.inclusion = null;
    this.bundle = null;
    this.runs = 0;
    root.querySelector('#bundle-file')?.addEventListener('change', (event) => this.readFile(event.target, 'bundle'));
    root.querySelector('#inclusion-file')?.addEventListener('change', (event) => this.readFile(event.target, 'inclusion'));
  }

  reset() {
    this.items = new Map();
    this.list.replaceChildren();
    for (const [name, zh] of CHECKS) {
      const status = el('span', { class: 'status' });
      const detail = el('div', { class: 'detail' });
      const item = el('li', { 'data-check': name, 'data-status': 'pending' },
        el('span', { class: 'mark', 'aria-hidden': 'true' }), el('span', { class: 'name' }, ...bilingual(zh, name)),
        ' ', status, detail);
      this.items.set(name, { item, status, detail });
      this.setStatus(name, 'pending');
      this.list.append(item);
    }
    this.list.setAttribute('aria-busy', 'true'); // read the list once it is complete, not at every step
    this.verdict.setAttribute('data-verdict', 'running');
    this.verdict.removeAttribute('data-failed-check');
    this.verdict.replaceChildren(...bilingual('正在验证……', 'Verifying…'));
  }

  setStatus(name, status) {
    const entry = this.items.get(name);
    if (!entry) return;
    entry.item.setAttribute('data-status', status);
    entry.status.replaceChildren(...bilingual(...STATUS[status]));
  }

  report(name, status, text) {
    const entry = this.items.get(name);
    if (!entry) return;
    if (status === 'note') {
      entry.detail.append(el('p', { class: 'note' }, text));
      return;
    }
    this.setStatus(name, status);
    if (text) entry.detail.prepend(el('p', {}, text));
  }

  end(result) {
    const { verdict } = this;
    this.list.setAttribute('aria-busy', 'false');
    for (const [name, entry] of this.items) {
      if (entry.item.getAttribute('data-status') === 'pending') this.setStatus(name, 'notrun');
    }
    verdict.setAttribute('data-verdict', result.verdict);
    if (result.verdict === 'pass') {
      verdict.replaceChildren(...bilingual('验证通过：每一项检查都通过。', 'PASS: every check passed.'));
    } else {
      const zh = LABEL[result.failed] || result.failed;
      verdict.setAttribute('data-failed-check', result.failed);
      verdict.replaceChildren(
        `验证未通过：第一个未通过的检查是“${zh}”。`, ' ',
        el('span', { lang: 'en' }, `FAIL: the first failing check is "${result.failed}".`), ' ',
        el('span', { class: 'message' }, result.message));
    }
    return result;
  }

  /** Verify a parsed bundle (and optional inclusion proof), showing each check; the result. */
  async run(bundle, inclusion = this.inclusion) {
    const run = ++this.runs;
    this.bundle = bundle;
    this.reset();
    const result = await verifyBundle(bundle, {
      inclusion,
      report: (name, status, text) => {
        if (run === this.runs) this.report(name, status, text);
      },
    });
    return run === this.runs ? this.end(result) : result;
  }

  fail(check, message) {
    this.runs++;
    this.reset();
    this.list.replaceChildren();
    return this.end({ verdict: 'fail', failed: check, message });
  }

  async readFile(input, kind) {
    const file = input.files && input.files[0];
    if (!file) return null;
    this.source.textContent = `${kind === 'bundle' ? '抽取包 bundle' : '包含证明 inclusion proof'}: ${file.name}`;
    let parsed;
    try {
      parsed = JSON.parse(await file.text());
    } catch (error) {
      return this.fail('read', `${file.name}: not a JSON file (${error.message})`);
    }
    if (kind === 'inclusion') {
      this.inclusion = parsed;
      return this.bundle ? this.run(this.bundle) : null;
    }
    return this.run(parsed);
  }

  /** Download a bundle (or proof) from this site only: a bundle from elsewhere proves nothing here. */
  async fetchJson(url, what) {
    const target = new URL(url, location.href);
    if (target.origin !== location.origin) throw new Error(`${what} must come from this site (${location.origin}), not ${target.origin}`);
    const response = await fetch(target, { cache: 'no-store', credentials: 'omit' });
    if (!response.ok) throw new Error(`${what}: HTTP ${response.status} for ${target.pathname}`);
    return response.json();
  }

  async load(bundleUrl, inclusionUrl) {
    this.source.textContent = `抽取包 bundle: ${bundleUrl}`;
    let bundle;
    try {
      this.inclusion = inclusionUrl ? await this.fetchJson(inclusionUrl, 'inclusion proof') : null;
      bundle = await this.fetchJson(bundleUrl, 'bundle');
    } catch (error) {
      return this.fail('download', error.message);
    }
    return this.run(bundle);
  }
}

const root = document.getElementById('drledger-verify');
if (root) {
  const verifier = new Verifier(root);
  window.drledgerVerify = verifier;
  const params = new URLSearchParams(location.search);
  const bundleUrl = params.get('bundle') || root.dataset.bundleUrl;
  const inclusionUrl = params.get('inclusion') || root.dataset.inclusionUrl;
  if (bundleUrl) verifier.load(bundleUrl, inclusionUrl);
}
