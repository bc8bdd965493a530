// The viewer's side: send comments, receive the approved ones (Server-Sent Events), fly them.

const COLORS = ["#ffffff", "#ffd166", "#06d6a0", "#4cc9f0", "#f72585", "#ff9f1c"];
const LANES = 10;
const MAX_FLYING = 60; // a busy stream is listed, not all flown: the screen would be a wall
const MAX_RECENT = 30;

const $ = (id) => document.getElementById(id);
const viewer = sessionStorage.getItem("danmaku-viewer") || crypto.randomUUID();
sessionStorage.setItem("danmaku-viewer", viewer);
const seen = new Set();
const laneFree = new Array(LANES).fill(0);

for (const color of COLORS) {
  const option = document.createElement("option");
  option.value = color;
  option.textContent = "●";
  option.style.color = color;
  $("color").append(option);
}

$("send").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (text === "") return;
  $("note").textContent = "";
  try {
    const res = await fetch("comments", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text, viewer, color: $("color").value }),
    });
    if (!res.ok) throw new Error((await res.json()).error || `HTTP ${res.status}`);
    $("text").value = "";
  } catch (error) {
    $("note").textContent = `Not sent: ${error.message}`;
  }
});

function show(comment) {
  if (typeof comment.id !== "string" || seen.has(comment.id)) return;
  seen.add(comment.id);
  const item = document.createElement("li");
  item.textContent = comment.text;
  item.dataset.id = comment.id;
  $("recent").prepend(item);
  while ($("recent").children.length > MAX_RECENT) $("recent").lastElementChild.remove();
  if ($("bullets").children.length >= MAX_FLYING) return;
  // The lane free the longest, so bullets do not overlap while there is room.
  const now = performance.now();
  const lane = laneFree.indexOf(Math.min(...laneFree));
  laneFree[lane] = Math.max(now, laneFree[lane]) + 1500;
  const bullet = document.createElement("span");
  bullet.className = "bullet";
  bullet.textContent = comment.text;
  bullet.style.color = COLORS.includes(comment.color) ? comment.color : COLORS[0];
  bullet.style.top = `${(lane / LANES) * 90 + 2}%`;
  bullet.addEventListener("animationend", () => bullet.remove());
  $("bullets").append(bullet);
}

const events = new EventSource("events");
events.addEventListener("open", () => {
  $("live").textContent = "● LIVE";
  $("live").classList.add("live");
  document.body.dataset.live = "true";
});
events.addEventListener("error", () => {
  $("live").textContent = "reconnecting…";
  $("live").classList.remove("live");
  document.body.dataset.live = "false";
});
events.addEventListener("comment", (event) => {
  try {
    show(JSON.parse(event.data));
  } catch {
    // not a comment: ignored
  }
});
