// The labeling page: the list of batches waiting for labels, and one batch labeled item by item.
// Answers live in localStorage (one key per labeling job) until they are submitted, so a reload loses
// nothing. The server validates and sends them exactly as `labeler submit` does; it never gives this page
// the task token. Text from the data is only ever set with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const LIST_REFRESH_MS = 5000;

let task = null; // {uri, job, records, labels, created, pending, items: [{id, text, ref}]}
let work = null; // {answers: {recordId: label name}, history: [{id, before}], position}
let listTimer = null;

// --- server and storage -------------------------------------------------------------------------------

async function api(path, body) {
  const options =
    body === undefined
      ? {}
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

const storageKey = (job) => `labeler:${job}`;

function loadWork(job) {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(job)));
    if (saved && saved.answers && Array.isArray(saved.history)) return saved;
  } catch (error) {
    // unreadable: start afresh
  }
  return { answers: {}, history: [], position: 0 };
}

function saveWork() {
  localStorage.setItem(storageKey(task.job), JSON.stringify(work));
}

function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}

// --- the list of tasks --------------------------------------------------------------------------------

async function showList() {
  task = work = null;
  $("task-view").hidden = true;
  $("list-view").hidden = false;
  document.title = "Labeling";
  await refreshList();
  listTimer = setInterval(refreshList, LIST_REFRESH_MS);
}

async function refreshList() {
  try {
    const data = await api("/api/tasks");
    $("location").textContent = data.location;
    $("tasks").tBodies[0].replaceChildren(...data.tasks.map(taskRow));
    $("tasks").hidden = data.tasks.length === 0;
    $("no-tasks").hidden = data.tasks.length > 0;
  } catch (error) {
    say(`Cannot list the tasks: ${error.message}`, "error");
  }
}

function taskRow(summary) {
  const row = document.createElement("tr");
  const done = Object.keys(loadWork(summary.job).answers).length;
  const link = document.createElement("a");
  link.href = `#task=${encodeURIComponent(summary.uri)}`;
  link.textContent = done ? "Continue" : "Label";
  link.className = "button primary";
  const cells = [summary.job, summary.records, summary.created.slice(0, 19).replace("T", " "), done ? `${done} labeled` : ""];
  for (const value of cells) row.insertCell().textContent = value;
  row.insertCell().append(link);
  return row;
}

// --- one task -----------------------------------------------------------------------------------------

async function openTask(uri) {
  say("");
  try {
    task = await api(`/api/task?uri=${encodeURIComponent(uri)}`);
  } catch (error) {
    say(error.message, "error");
    location.hash = "";
    return;
  }
  work = loadWork(task.job);
  const ids = new Set(task.items.map((item) => item.id));
  for (const id of Object.keys(work.answers)) if (!ids.has(Number(id))) delete work.answers[id];
  work.position = Math.min(work.position, task.items.length - 1);

  $("job").textContent = task.job;
  document.title = `Labeling · ${task.job}`;
  $("labels").replaceChildren(...task.labels.map(labelButton));
  $("list-view").hidden = true;
  $("task-view").hidden = false;
  if (!task.pending) say("This batch no longer waits for labels: it was answered, timed out, or its run stopped.", "error");
  render();
}

function labelButton(name, index) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "label";
  button.dataset.label = name;
  if (index < 9) {
    const key = document.createElement("kbd");
    key.textContent = index + 1;
    button.append(key);
  }
  button.append(name);
  button.addEventListener("click", () => {
    label(name);
    button.blur(); // or Enter would click it again, labeling the next item the same
  });
  return button;
}

function render() {
  const item = task.items[work.position];
  const total = task.items.length;
  const done = task.items.filter((it) => it.id in work.answers).length;
  const answer = work.answers[item.id];

  $("progress-text").textContent = `${done} of ${total} labeled`;
  $("progress").max = total;
  $("progress").value = done;
  $("position").textContent = `Item ${work.position + 1} of ${total} · record ${item.id}`;
  $("answer").textContent = answer ? `labeled: ${answer}` : "not labeled yet";
  $("item").dataset.recordId = item.id;
  $("item").classList.toggle("labeled", Boolean(answer));
  $("item-text").textContent = item.ref ? `Text stored at ${item.text}` : item.text;
  $("item-text").classList.toggle("ref", item.ref);
  for (const button of $("labels").children) button.setAttribute("aria-pressed", button.dataset.label === answer);
  $("undo").disabled = work.history.length === 0;
  $("submit").disabled = done === 0;
  $("submit").textContent = done === total ? `Submit all ${total}` : `Submit ${done} of ${total}`;
  $("submit").classList.toggle("ready", done === total);
}

function nextUnlabeled(from) {
  const total = task.items.length;
  for (let step = 1; step <= total; step++) {
    const position = (from + step) % total;
    if (!(task.items[position].id in work.answers)) return position;
  }
  return from; // all labeled: stay
}

function label(name) {
  const item = task.items[work.position];
  work.history.push({ id: item.id, before: work.answers[item.id] ?? null });
  work.answers[item.id] = name;
  work.position = nextUnlabeled(work.position);
  saveWork();
  render();
}

function undo() {
  const last = work.history.pop();
  if (!last) return;
  if (last.before === null) delete work.answers[last.id];
  else work.answers[last.id] = last.before;
  work.position = task.items.findIndex((item) => item.id === last.id);
  say("");
  saveWork();
  render();
}

function move(step) {
  const total = task.items.length;
  work.position = (work.position + step + total) % total;
  saveWork();
  render();
}

async function submit() {
  const answered = task.items.filter((item) => item.id in work.answers);
  const answers = answered.map((item) => ({ "al:record-id": item.id, label: work.answers[item.id] }));
  const left = task.items.length - answers.length;
  if (answers.length === 0) return;
  if (left && !confirm(`Submit ${answers.length} of ${task.items.length} labels?\n\n` +
      `The ${left} unlabeled items go back to the pool and may be asked again later.`)) return;
  $("submit").disabled = true;
  try {
    const result = await api("/api/submit", { uri: task.uri, answers });
    localStorage.removeItem(storageKey(task.job));
    location.hash = "";
    const rest = result.left ? ` ${result.left} unlabeled items go back to the pool.` : "";
    say(`Sent ${result.sent} labels for ${result.job}: the workflow continues.${rest}`, "ok");
  } catch (error) {
    say(`Not sent: ${error.message}`, "error");
    const line = /\bline (\d+)\b/.exec(error.message); // the server numbers the answers as sent
    if (line && answered[line[1] - 1]) work.position = task.items.indexOf(answered[line[1] - 1]);
    render();
  }
}

async function giveUp(reason) {
  try {
    const result = await api("/api/fail", { uri: task.uri, reason });
    localStorage.removeItem(storageKey(task.job));
    location.hash = "";
    say(`Gave up on ${result.job}: the workflow records it and the run stops.`, "ok");
  } catch (error) {
    say(`Could not give up: ${error.message}`, "error");
  }
}

// --- wiring -------------------------------------------------------------------------------------------

const KEYS = { ArrowRight: () => move(1), ArrowLeft: () => move(-1), Backspace: undo };

document.addEventListener("keydown", (event) => {
  if ($("task-view").hidden || $("give-up-dialog").open) return;
  if (event.ctrlKey || event.metaKey || event.altKey || event.target.matches("input, textarea")) return;
  const digit = /^[1-9]$/.test(event.key) ? Number(event.key) - 1 : -1;
  if (digit >= 0 && digit < task.labels.length) label(task.labels[digit]);
  else if (event.key in KEYS) KEYS[event.key]();
  else return;
  event.preventDefault();
});

$("back").addEventListener("click", () => move(-1));
$("skip").addEventListener("click", () => move(1));
$("undo").addEventListener("click", undo);
$("submit").addEventListener("click", submit);
$("give-up").addEventListener("click", () => {
  $("give-up-dialog").returnValue = ""; // Escape keeps the last value: it must not mean "confirm"
  $("give-up-dialog").showModal();
});
$("give-up-dialog").addEventListener("close", () => {
  const reason = $("reason").value.trim();
  if ($("give-up-dialog").returnValue === "confirm" && reason) giveUp(reason);
});

function route() {
  clearInterval(listTimer);
  const uri = new URLSearchParams(location.hash.slice(1)).get("task");
  if (uri) openTask(uri);
  else showList();
}

window.addEventListener("hashchange", route);
route();
