// The page of `rag serve`: asks through /v1/chat/completions (streamed), shows the model's draft while it is
// written, then the checked answer with its numbered sources; a source opens its article with the quoted
// sentence highlighted by its offsets. Every text from the server is inserted as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const TURNS_SENT = 6; // earlier turns sent with a question, for follow-ups
const conversation = []; // {role, content} of earlier turns

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child); // strings become text nodes
  }
  return node;
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem("rag-key");
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    message = (await response.json()).error.message;
  } catch (_) { /* not our JSON: keep the status */ }
  if (response.status === 401) {
    $("key-row").hidden = false;
    $("key").focus();
  }
  return new Error(message);
}

async function getJSON(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return response.json();
}

function where(...parts) {
  return parts.filter(Boolean).join(" · ");
}

async function showIndex() {
  try {
    const index = await getJSON("v1/index");
    const outlets = index.outlets.length;
    $("stats").textContent = where(`${index.articles} article${index.articles === 1 ? "" : "s"}`,
      `${index.chunks} chunk${index.chunks === 1 ? "" : "s"}`,
      outlets ? `${outlets} outlet${outlets === 1 ? "" : "s"}: ${index.outlets.map((o) => o.name).join(", ")}`
        : "the articles name no outlet",
      index.dates.first ? `${index.dates.first} to ${index.dates.last}` : "");
    const select = $("outlet");
    select.replaceChildren(el("option", { value: "", text: "every outlet" }));
    for (const outlet of index.outlets) {
      select.append(el("option", { value: outlet.name, text: `${outlet.name} (${outlet.articles})` }));
    }
    select.disabled = !outlets;
  } catch (error) {
    $("stats").textContent = "index: " + error.message;
  }
}

// The answer's text with each [n] as a link to source n.
function cited(text, citations) {
  const p = el("p", { class: "text" });
  const byNumber = new Map(citations.map((c) => [c.n, c]));
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    p.append(text.slice(last, match.index));
    const c = byNumber.get(Number(match[1]));
    p.append(c ? el("a", { class: "cite", href: "#", "data-n": c.n, title: c.title,
      onclick: (e) => { e.preventDefault(); openArticle(c.article_id, c.start, c.end); } }, match[0]) : match[0]);
    last = match.index + match[0].length;
  }
  p.append(text.slice(last));
  return p;
}

function sourceList(className, items, label) {
  const list = el("ul", { class: className });
  for (const item of items) list.append(label(item));
  return list;
}

function showAnswer(box, answer, citations) {
  box.replaceChildren();
  box.dataset.state = answer.answerable ? "answered" : "withheld";
  if (answer.answerable) {
    box.append(cited(answer.text, citations));
    box.append(el("h3", { text: "Sources" }), sourceList("sources", citations, (c) => el("li", {},
      el("button", { class: "source", type: "button", onclick: () => openArticle(c.article_id, c.start, c.end) },
        `[${c.n}] ${c.title}`),
      el("span", { class: "meta", text: " " + where(c.outlet, c.date) }),
      el("blockquote", { text: c.quote }))));
    return;
  }
  box.append(el("p", { class: "withheld" }, answer.text,
    answer.reason ? el("span", { class: "reason", text: "Why: " + answer.reason }) : null));
  if (answer.closest && answer.closest.length) {
    box.append(el("h3", { text: "What the articles do say (not an answer)" }),
      sourceList("closest", answer.closest, (c) => el("li", {},
        el("button", { class: "source", type: "button", onclick: () => openArticle(c.article_id, c.quote_start, c.quote_end) },
          `“${c.quote}”`),
        el("span", { class: "meta", text: " " + where(c.title, c.date) }))));
  }
  if (answer.related && answer.related.length) {
    box.append(el("h3", { text: "Closest articles (not citations)" }),
      sourceList("related", answer.related, (a) => el("li", {},
        el("button", { class: "source", type: "button", onclick: () => openArticle(a.article_id) }, a.title),
        el("span", { class: "meta", text: " " + where(a.date) }))));
  }
}

async function openArticle(id, start, end) {
  const reader = $("reader");
  try {
    const article = await getJSON("v1/articles/" + encodeURIComponent(id));
    $("article-title").textContent = article.title;
    const meta = $("article-meta");
    meta.replaceChildren(where(article.outlet, article.date, article.author));
    if (article.url && /^https?:\/\//i.test(article.url)) {
      meta.append(" · ", el("a", { href: article.url, rel: "noopener noreferrer", target: "_blank", text: "original" }));
    }
    const body = $("article-text");
    const text = article.text;
    if (Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= text.length) {
      const mark = el("mark", { id: "quote", text: text.slice(start, end) });
      body.replaceChildren(text.slice(0, start), mark, text.slice(end));
      reader.hidden = false;
      mark.scrollIntoView({ block: "center" });
    } else {
      body.replaceChildren(text);
      reader.hidden = false;
      body.scrollTop = 0;
    }
  } catch (error) {
    $("article-title").textContent = "The article could not be opened";
    $("article-meta").textContent = error.message;
    $("article-text").replaceChildren();
    reader.hidden = false;
  }
}

// Server-sent events of a fetch response, parsed: each "data: {...}" block as an object.
async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (!data) continue;
      if (data === "[DONE]") return;
      yield JSON.parse(data);
    }
  }
}

function filters() {
  const chosen = {};
  if ($("outlet").value) chosen.outlets = [$("outlet").value];
  if ($("since").value.trim()) chosen.since = $("since").value.trim();
  if ($("until").value.trim()) chosen.until = $("until").value.trim();
  $("filter-summary").textContent = where(chosen.outlets && chosen.outlets[0], chosen.since && "from " + chosen.since,
    chosen.until && "to " + chosen.until);
  return chosen;
}

async function ask(question) {
  $("hello")?.remove();
  const box = el("div", { class: "answer", "data-state": "waiting" },
    el("p", { class: "status", text: "Searching and reading the articles…" }));
  const turn = el("article", { class: "turn" }, el("p", { class: "q", text: question }), box);
  $("turns").append(turn);
  turn.scrollIntoView({ block: "end" });
  const messages = [...conversation.slice(-2 * TURNS_SENT), { role: "user", content: question }];
  let draft = null;
  let answerText = null;
  try {
    const response = await fetch("v1/chat/completions", { method: "POST", headers: headers(),
      body: JSON.stringify({ model: "rag", stream: true, draft: true, messages, ...filters() }) });
    if (!response.ok) throw await failure(response);
    for await (const chunk of events(response)) {
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.question) {
        turn.insertBefore(el("p", { class: "searched", text: "searching: " + chunk.question }), box);
      }
      const delta = (chunk.choices && chunk.choices[0] && chunk.choices[0].delta) || {};
      if (delta.draft) {
        if (!draft) {
          draft = el("p", { class: "draft" });
          box.replaceChildren(draft);
          box.dataset.state = "drafting";
        }
        draft.textContent += delta.draft;
      }
      if (chunk.answer) {
        answerText = chunk.answer.text;
        showAnswer(box, chunk.answer, chunk.citations || []);
      }
    }
    if (answerText === null) throw new Error("the answer stopped before it ended");
    conversation.push({ role: "user", content: question }, { role: "assistant", content: answerText });
  } catch (error) {
    box.dataset.state = "error";
    box.replaceChildren(el("p", { class: "error", text: error.message }));
  }
}

$("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (key) sessionStorage.setItem("rag-key", key);
  const question = $("question").value.trim();
  if (!question) return;
  $("send").disabled = true;
  $("question").value = "";
  try {
    await ask(question);
  } finally {
    $("send").disabled = false;
    $("question").focus();
  }
});
$("question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    $("ask").requestSubmit();
  }
});
$("new").addEventListener("click", () => {
  conversation.length = 0;
  $("turns").replaceChildren(el("p", { class: "hint", text: "New conversation: the next question stands on its own." }));
  $("reader").hidden = true;
});
$("close").addEventListener("click", () => { $("reader").hidden = true; });
["outlet", "since", "until"].forEach((id) => $(id).addEventListener("change", filters));
$("key").addEventListener("change", () => { sessionStorage.setItem("rag-key", $("key").value.trim()); showIndex(); });
showIndex();
