// The sidecar dashboard page: no framework, no innerHTML. Everything a peer supplies (names,
// endpoints, methods, metadata) is put into the page with textContent, so it shows as text.

const tbody = document.querySelector('#peers tbody');
const logList = document.getElementById('log');
const MAX_LOG = 200;

/** Makes an element with a class and text (text is never parsed as HTML). */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function stateClass(state) {
  return state.replace(/\s+/g, '-');
}

function heartbeatCell(peer) {
  const td = el('td');
  td.append(el('span', 'mono', `${seconds(peer.heartbeatAge)} / ttl ${seconds(peer.ttl)}`));
  const bar = el('span', `bar ${stateClass(peer.state)}`);
  const fill = el('span');
  const used = peer.ttl > 0 ? Math.min(1, (peer.ttl - peer.remaining) / peer.ttl) : 1;
  fill.style.width = `${Math.round(100 * (1 - used))}%`;
  bar.append(fill);
  td.append(bar);
  return td;
}

function figuresCell(peer) {
  const td = el('td');
  if (!peer.figures) {
    td.append(el('span', 'muted', peer.metricsUrl ? 'waiting for /metrics' : 'no metrics'));
    return td;
  }
  const f = peer.figures;
  const dl = el('dl', 'figures');
  const rows = [
    ['streamsActive', 'streams open', f.streamsActive],
    ['streamsOpened', 'streams total', f.streamsOpened],
    ['callsServed', 'calls served', f.callsServed],
    ['callsMade', 'calls made', f.callsMade],
    ['pendingCallbacks', 'callbacks pending', f.pendingCallbacks],
    ['bytes', 'bytes in / out', `${bytes(f.bytesIn)} / ${bytes(f.bytesOut)}`],
  ];
  for (const [key, label, value] of rows) {
    const dd = el('dd', '', value);
    dd.dataset.figure = key;
    dl.append(el('dt', '', label), dd);
  }
  td.append(dl);
  return td;
}

function row(peer) {
  const tr = el('tr', stateClass(peer.state));
  tr.dataset.instance = peer.instanceId;
  tr.dataset.state = peer.state;
  tr.append(el('td', 'name', peer.name));
  tr.append(el('td', 'mono instance', peer.instanceId));
  tr.append(el('td', `state state-${stateClass(peer.state)}`, peer.state));
  tr.append(heartbeatCell(peer));
  const endpoints = el('td', 'mono');
  for (const e of peer.endpoints) endpoints.append(el('div', '', e));
  tr.append(endpoints);
  tr.append(el('td', 'mono', peer.methods.join(', ')));
  tr.append(figuresCell(peer));
  tr.append(el('td', 'mono metadata', peer.metadata === '{}' ? '' : peer.metadata));
  return tr;
}

function render(snapshot) {
  document.getElementById('where').textContent =
    `namespace ${snapshot.namespace}${snapshot.registry ? ` on ${snapshot.registry}` : ''}, peers matching ${snapshot.pattern}`;
  const live = snapshot.peers.filter((p) => p.state !== 'timed out').length;
  document.getElementById('count').textContent = `(${live} live, ${snapshot.peers.length - live} timed out)`;
  tbody.replaceChildren(...snapshot.peers.map(row));
  document.getElementById('empty').hidden = snapshot.peers.length > 0;
}

function addLog(change) {
  const li = el('li', `ev-${change.type}`);
  li.dataset.type = change.type;
  li.dataset.instance = change.instanceId;
  const at = new Date(change.at).toLocaleTimeString();
  li.append(
    el('span', 'muted', `${at}  `),
    el('span', 'type', change.type.padEnd(8)),
    el('span', 'name', change.name),
  );
  li.append(el('span', 'muted', `  ${change.instanceId}`));
  logList.prepend(li);
  while (logList.children.length > MAX_LOG) logList.lastElementChild.remove();
}

const status = document.getElementById('connection');
const source = new EventSource('/events');
source.addEventListener('open', () => {
  status.textContent = 'live';
  status.className = 'status live';
});
source.addEventListener('error', () => {
  status.textContent = 'reconnecting...';
  status.className = 'status';
});
source.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
source.addEventListener('log', (e) => {
  logList.replaceChildren();
  for (const change of JSON.parse(e.data)) addLog(change);
});
source.addEventListener('change', (e) => addLog(JSON.parse(e.data)));
source.addEventListener('problem', (e) => {
  status.textContent = JSON.parse(e.data).message;
  status.className = 'status';
});
