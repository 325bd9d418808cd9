// aural web page: upload a file to POST /v1/transcribe (a long one as a job, POST
// /v1/jobs, with its progress shown), or stream the microphone to
// WS /v1/listen as 16-bit PCM and show partial and final results as they arrive.
// An uploaded file plays under its transcript: the word being spoken is highlighted,
// clicking a word seeks to it, words are shaded by confidence and speakers labelled.
// No build step and no external resources.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  info: null, // GET /v1/info
  transcript: null, // Transcript JSON (the server's to_dict shape)
  recorder: null, // the live microphone session
  audioUrl: null, // object URL of the uploaded file the player plays
  words: [], // {start, end, el} of every rendered word, sorted by start
  current: -1, // index into words of the highlighted word, -1 for none
  frame: 0, // requestAnimationFrame id while the audio plays
};

// Confidence bins, highest first: a word gets the first whose floor its probability
// reaches. The legend in index.html names the same floors.
const CONFIDENCE = [
  { floor: 0.8, cls: "conf-high", label: "high" },
  { floor: 0.5, cls: "conf-mid", label: "middling" },
  { floor: -Infinity, cls: "conf-low", label: "low" },
];
const HOLD_S = 0.3; // a word stays lit this long after its end when a pause follows
const SPEAKER_COLOURS = 8; // .speaker-0 ... .speaker-7 in style.css

const FRAME_SECONDS = 0.1; // PCM sent every 100 ms
const STREAM_KNOBS = [
  "engine", "model", "language", "partials", "partial_interval_s", "endpoint_silence_s",
  "max_lag_s",
];

function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// The language picker's value: a code, or "" for auto (the server detects it).
function chosenLanguage() {
  const select = $("language");
  if (select.disabled) return ""; // one-language model: nothing to choose
  return select.value && select.value !== "auto" ? select.value : "";
}

// Fill the picker with the default model's languages (/v1/info), keeping a choice made
// before (this tab's last one, or /?language=de in the page URL).
function fillLanguages(languages) {
  const select = $("language");
  const page = new URLSearchParams(location.search);
  const wanted = page.get("language") ?? sessionStorage.getItem("aural-language") ?? "auto";
  const codes = Object.keys(languages || {});
  const options = [new Option("Detect it (auto)", "auto")];
  for (const code of codes.sort((a, b) => languageName(a).localeCompare(languageName(b)))) {
    options.push(new Option(languageName(code), code));
  }
  select.replaceChildren(...options);
  select.value = codes.includes(wanted) ? wanted : "auto";
  if (codes.length === 1) {
    select.value = codes[0]; // an English-only model: nothing to detect
    select.disabled = true;
    $("language-hint").textContent = `This model knows only ${languageName(codes[0])}.`;
  }
}

// The hotwords field as the API takes it: comma-separated entries, blanks dropped.
function hotwords() {
  return $("hotwords").value.split(",").map((s) => s.trim()).filter(Boolean).join(", ");
}

function authHeaders() {
  const key = $("api-key").value.trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error) return `${body.error.message} (${response.status})`;
  } catch (_) {
    // not JSON
  }
  return `the server answered ${response.status} ${response.statusText}`;
}

function formatTime(seconds) {
  const m = Math.floor(seconds / 60);
  const s = (seconds - m * 60).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

function confidenceBin(probability) {
  const p = typeof probability === "number" ? probability : 1;
  return CONFIDENCE.find((bin) => p >= bin.floor);
}

// Speaker labels in order of first appearance (segments and words), each with its
// colour class; empty when the transcript was not diarized.
function speakerClasses(segments) {
  const classes = new Map();
  const add = (speaker) => {
    if (speaker == null || classes.has(speaker)) return;
    classes.set(speaker, `speaker-${classes.size % SPEAKER_COLOURS}`);
  };
  for (const seg of segments) {
    add(seg.speaker);
    for (const word of seg.words || []) add(word.speaker);
  }
  return classes;
}

function speakerLabel(speaker, speakers) {
  const label = document.createElement("span");
  label.className = `speaker ${speakers.get(speaker)}`;
  label.textContent = speaker;
  return label;
}

function wordSpan(word, index) {
  const span = document.createElement("span");
  const bin = confidenceBin(word.probability);
  span.className = `word ${bin.cls}`;
  span.textContent = word.text.trim();
  span.dataset.index = String(index);
  span.dataset.start = String(word.start);
  span.dataset.end = String(word.end);
  const p = typeof word.probability === "number" ? word.probability.toFixed(2) : "?";
  span.title =
    `${formatTime(word.start)}–${formatTime(word.end)} · confidence ${p} (${bin.label})` +
    (word.speaker != null ? ` · ${word.speaker}` : "");
  return span;
}

// One line per segment: its time (a button that plays from there), the speaker when
// diarized, then its words (or its text when the engine gave no word times).
function segmentItem(seg, speakers) {
  const item = document.createElement("li");
  item.className = "segment";
  const seek = document.createElement("button");
  seek.type = "button";
  seek.className = "seek";
  seek.dataset.start = String(seg.start);
  seek.disabled = !state.audioUrl;
  seek.setAttribute("aria-label", `Play from ${formatTime(seg.start)}`);
  const time = document.createElement("time");
  time.textContent = `${formatTime(seg.start)}–${formatTime(seg.end)}`;
  seek.append(time);
  const line = document.createElement("span");
  line.className = "line";
  const words = seg.words || [];
  let speaker = seg.speaker ?? (words.length ? words[0].speaker : null) ?? null;
  if (speaker != null) {
    item.classList.add(speakers.get(speaker));
    line.append(speakerLabel(speaker, speakers), " ");
  }
  if (!words.length) line.append(seg.text.trim());
  for (const word of words) {
    if (word.speaker != null && word.speaker !== speaker) {
      speaker = word.speaker; // the speaker changes inside the segment
      line.append(speakerLabel(speaker, speakers), " ");
    }
    const span = wordSpan(word, state.words.length);
    state.words.push({ start: word.start, end: word.end, el: span });
    line.append(span, " ");
  }
  item.append(seek, line);
  return item;
}

function languageName(code) {
  try {
    const name = new Intl.DisplayNames(["en"], { type: "language" }).of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch (_) {
    return code;
  }
}

function showTranscriptInfo(transcript, speakers) {
  const info = transcript.info || {};
  const el = $("transcript-info");
  const parts = [];
  if (info.language) {
    const p = info.language_probability;
    const sure = typeof p === "number" ? `, ${Math.round(p * 100)} % sure` : "";
    parts.push(`Language: ${languageName(info.language)}${sure}`);
  }
  if (typeof info.duration === "number" && transcript.segments.length) {
    parts.push(`${formatTime(info.duration)} of audio`);
  }
  if (state.words.length) parts.push(`${state.words.length} words`);
  el.replaceChildren(parts.join(" · "));
  if (speakers.size) {
    el.append(parts.length ? " · " : "", `Speakers (${speakers.size}): `);
    for (const speaker of speakers.keys()) el.append(speakerLabel(speaker, speakers), " ");
  }
  el.hidden = parts.length === 0 && speakers.size === 0;
}

// Render a Transcript JSON object (the server's to_dict shape). Also called by the
// browser test with transcripts it builds (window.auralPage.showTranscript).
function showTranscript(transcript) {
  state.transcript = transcript;
  state.words = [];
  state.current = -1;
  $("final-text").textContent = transcript.text || "(no speech found)";
  const speakers = speakerClasses(transcript.segments);
  const list = $("segments");
  list.replaceChildren(...transcript.segments.map((seg) => segmentItem(seg, speakers)));
  list.classList.toggle("playable", Boolean(state.audioUrl));
  // highlighting looks words up by time; rendering keeps the transcript's own order
  state.words.sort((a, b) => a.start - b.start);
  showTranscriptInfo(transcript, speakers);
  $("confidence-legend").hidden = state.words.length === 0;
  const ready = transcript.segments.length > 0;
  for (const id of ["download-txt", "download-srt", "download-vtt"]) $(id).disabled = !ready;
  if (state.audioUrl) followAudio();
}

function clearResult() {
  releaseAudio();
  state.transcript = null;
  state.words = [];
  state.current = -1;
  $("partial").textContent = "";
  $("final-text").textContent = "";
  $("segments").replaceChildren();
  $("transcript-info").hidden = true;
  $("confidence-legend").hidden = true;
  for (const id of ["download-txt", "download-srt", "download-vtt"]) $(id).disabled = true;
}

// -- the player ----------------------------------------------------------------------

function loadAudio(file) {
  releaseAudio();
  state.audioUrl = URL.createObjectURL(file);
  $("player").src = state.audioUrl;
  $("player-bar").hidden = false;
}

function releaseAudio() {
  const player = $("player");
  cancelAnimationFrame(state.frame);
  state.frame = 0;
  if (!state.audioUrl) return;
  player.pause();
  player.removeAttribute("src");
  player.load();
  URL.revokeObjectURL(state.audioUrl);
  state.audioUrl = null;
  $("player-bar").hidden = true;
}

// The index of the word being spoken at `t` seconds: the last word that has started,
// while `t` is before its end (plus HOLD_S, so short gaps do not flicker); else -1.
function wordAt(t) {
  const words = state.words;
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid].start <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found >= 0 && t < words[found].end + HOLD_S ? found : -1;
}

function setCurrent(index) {
  if (index === state.current) return;
  const old = state.words[state.current];
  if (old) {
    old.el.classList.remove("current");
    old.el.removeAttribute("aria-current");
  }
  state.current = index;
  const word = state.words[index];
  if (!word) return;
  word.el.classList.add("current");
  word.el.setAttribute("aria-current", "true");
  if (!$("player").paused) keepInView(word.el);
}

// Scroll a playing word into view when it leaves the window (or hides under the
// sticky player).
function keepInView(el) {
  const box = el.getBoundingClientRect();
  const top = $("player-bar").getBoundingClientRect().bottom;
  if (box.top < top || box.bottom > window.innerHeight) {
    el.scrollIntoView({ block: "center" });
  }
}

// Highlight the word at the player's time: on every frame while it plays, and on
// timeupdate / seeking / pause for the moments frames do not run.
function followAudio() {
  const player = $("player");
  setCurrent(wordAt(player.currentTime));
  cancelAnimationFrame(state.frame);
  state.frame = player.paused || player.ended ? 0 : requestAnimationFrame(followAudio);
}

function seekTo(event) {
  const target = event.target.closest("[data-start]");
  if (!target || !state.audioUrl) return;
  const player = $("player");
  const start = Number(target.dataset.start);
  player.currentTime = start;
  setCurrent(wordAt(start)); // at once, not when the seek completes
  player.play().catch((err) => {
    // AbortError: a pause or another seek came first, which is no failure
    if (err.name !== "AbortError") setStatus(`Could not play the audio: ${err.message}`, true);
  });
}

// -- server info ---------------------------------------------------------------------

async function loadInfo() {
  try {
    const response = await fetch("/v1/info");
    if (!response.ok) throw new Error(await errorMessage(response));
    state.info = await response.json();
    $("engine-info").textContent =
      `Engine: ${state.info.engines[0]} · uploads up to ${state.info.max_upload_mb} MiB`;
    $("key-panel").hidden = !state.info.auth_required;
    fillLanguages(state.info.languages);
  } catch (err) {
    $("engine-info").textContent = `Server not reachable: ${err.message}`;
  }
}

// -- upload --------------------------------------------------------------------------

async function transcribeNow(form) {
  const response = await fetch("/v1/transcribe", {
    method: "POST", body: form, headers: authHeaders(),
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.json();
}

// Long files go through the job API (docs/jobs.md): POST /v1/jobs answers at once, the
// page polls GET /v1/jobs/{id} and shows the progress until the job ends.
const JOB_BYTES = 8 * 1024 * 1024;
const JOB_POLL_MS = 1000;

async function runJob(form, name) {
  const submitted = await fetch("/v1/jobs", {
    method: "POST", body: form, headers: authHeaders(),
  });
  if (!submitted.ok) throw new Error(await errorMessage(submitted));
  let job = await submitted.json();
  while (job.status === "queued" || job.status === "running") {
    const percent = Math.round(job.progress * 100);
    setStatus(job.status === "queued"
      ? `${name}: job ${job.id} is waiting for a worker…`
      : `${name}: job ${job.id} is running, ${percent} % done…`);
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    const response = await fetch(`/v1/jobs/${job.id}`, { headers: authHeaders() });
    if (!response.ok) throw new Error(await errorMessage(response));
    job = await response.json();
  }
  if (job.status !== "succeeded") {
    throw new Error(job.error ? job.error.message : `the job was ${job.status}`);
  }
  return job.result;
}

function suggestJob() {
  const file = $("file-input").files[0];
  if (file && file.size > JOB_BYTES) $("as-job").checked = true;
}

async function uploadFile(event) {
  event.preventDefault();
  const file = $("file-input").files[0];
  if (!file) {
    setStatus("Choose an audio file first.", true);
    return;
  }
  clearResult();
  $("upload-button").disabled = true;
  setStatus(`Transcribing ${file.name}…`);
  const started = performance.now();
  try {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("response_format", "json");
    form.append("word_timestamps", "true"); // the words the player highlights
    if (hotwords()) form.append("hotwords", hotwords());
    if (chosenLanguage()) form.append("language", chosenLanguage());
    if ($("diarize").checked) form.append("diarize", "true"); // speakers on the words
    const transcript = $("as-job").checked
      ? await runJob(form, file.name)
      : await transcribeNow(form);
    loadAudio(file);
    showTranscript(transcript);
    const took = ((performance.now() - started) / 1000).toFixed(1);
    setStatus(`Done: ${formatTime(transcript.info.duration)} of audio in ${took} s.`);
  } catch (err) {
    setStatus(`Could not transcribe ${file.name}: ${err.message}`, true);
  } finally {
    $("upload-button").disabled = false;
  }
}

// -- microphone ----------------------------------------------------------------------

function floatToPcm16(chunks, length) {
  const pcm = new Int16Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const s = Math.max(-1, Math.min(1, chunk[i]));
      pcm[offset++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    }
  }
  return pcm;
}

async function openAudio(stream) {
  // Ask for 16 kHz so the browser resamples; fall back to the device rate (the server
  // resamples whatever rate it is told).
  let context;
  try {
    context = new AudioContext({ sampleRate: 16000 });
    return { context, source: context.createMediaStreamSource(stream) };
  } catch (_) {
    if (context) context.close();
    context = new AudioContext();
    return { context, source: context.createMediaStreamSource(stream) };
  }
}

async function captureNode(context, onSamples) {
  if (context.audioWorklet) {
    await context.audioWorklet.addModule("/static/pcm-worklet.js");
    const node = new AudioWorkletNode(context, "pcm-capture");
    node.port.onmessage = (e) => onSamples(e.data);
    return node;
  }
  const node = context.createScriptProcessor(4096, 1, 1); // older browsers
  node.onaudioprocess = (e) => onSamples(new Float32Array(e.inputBuffer.getChannelData(0)));
  return node;
}

function listenUrl(sampleRate) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({ sample_rate: String(sampleRate), encoding: "pcm_s16le" });
  const key = $("api-key").value.trim();
  if (key) params.set("api_key", key);
  if (hotwords()) params.set("hotwords", hotwords());
  if (chosenLanguage()) params.set("language", chosenLanguage());
  // streaming knobs given to the page (e.g. /?partial_interval_s=1) go to the stream
  const page = new URLSearchParams(location.search);
  for (const name of STREAM_KNOBS) {
    if (page.has(name)) params.set(name, page.get(name));
  }
  return `${scheme}://${location.host}/v1/listen?${params}`;
}

function handleEvent(rec, event) {
  if (event.type === "partial") {
    $("partial").textContent = event.text;
  } else if (event.type === "final") {
    $("partial").textContent = "";
    rec.segments.push(event.segment);
    showTranscript(liveTranscript(rec));
  } else if (event.type === "end") {
    rec.ended = true;
    showTranscript(liveTranscript(rec));
    setStatus(rec.segments.length ? "Recording transcribed." : "No speech was recognised.");
  } else if (event.type === "error") {
    setStatus(`Streaming error: ${event.message}`, true);
  }
}

function liveTranscript(rec) {
  const segments = rec.segments;
  const text = segments.map((s) => s.text.trim()).filter(Boolean).join(" ");
  const [engine, model] = (state.info ? state.info.engines[0] : "unknown:unknown").split(":");
  return {
    schema_version: "1.0",
    text,
    segments,
    info: {
      language: null, language_probability: null, engine, model, options: {},
      duration: rec.samplesSent / rec.sampleRate,
    },
  };
}

async function startRecording() {
  clearResult();
  $("record-button").disabled = true;
  setStatus("Asking for the microphone…");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false,
               autoGainControl: false },
    });
  } catch (err) {
    setStatus(`No microphone: ${err.message}`, true);
    $("record-button").disabled = false;
    return;
  }
  const { context, source } = await openAudio(stream);
  const rec = {
    stream, context, source, node: null, socket: null, segments: [], ended: false,
    sampleRate: context.sampleRate, pending: [], pendingLength: 0, samplesSent: 0,
  };
  state.recorder = rec;
  const frameLength = Math.round(rec.sampleRate * FRAME_SECONDS);
  const socket = new WebSocket(listenUrl(rec.sampleRate));
  socket.binaryType = "arraybuffer";
  rec.socket = socket;
  socket.onmessage = (e) => handleEvent(rec, JSON.parse(e.data));
  socket.onerror = () => setStatus("The WebSocket connection failed.", true);
  socket.onclose = () => {
    if (!rec.ended && state.recorder === rec) stopAudio(rec);
    $("record-button").disabled = false;
    $("stop-button").disabled = true;
    document.body.classList.remove("recording");
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.addEventListener("close", reject, { once: true });
  }).catch(() => null);
  if (socket.readyState !== WebSocket.OPEN) {
    stopAudio(rec);
    setStatus("Could not open the live connection to the server.", true);
    return;
  }
  rec.node = await captureNode(context, (samples) => {
    if (socket.readyState !== WebSocket.OPEN || rec.stopping) return;
    rec.pending.push(samples);
    rec.pendingLength += samples.length;
    showLevel(samples);
    if (rec.pendingLength >= frameLength) flush(rec);
  });
  source.connect(rec.node);
  rec.node.connect(context.destination); // keeps the graph pulling; the node outputs silence
  document.body.classList.add("recording");
  $("stop-button").disabled = false;
  setStatus("Listening… speak, then press Stop.");
}

function flush(rec) {
  if (!rec.pendingLength) return;
  const pcm = floatToPcm16(rec.pending, rec.pendingLength);
  rec.samplesSent += rec.pendingLength;
  rec.pending = [];
  rec.pendingLength = 0;
  rec.socket.send(pcm.buffer);
}

function showLevel(samples) {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  $("level-bar").style.width = `${Math.min(100, Math.round(peak * 140))}%`;
}

function stopAudio(rec) {
  if (rec.stopping) return;
  rec.stopping = true;
  if (rec.node) rec.node.disconnect();
  rec.source.disconnect();
  rec.stream.getTracks().forEach((t) => t.stop());
  rec.context.close();
  $("level-bar").style.width = "0";
}

function stopRecording() {
  const rec = state.recorder;
  if (!rec) return;
  $("stop-button").disabled = true;
  if (rec.socket.readyState === WebSocket.OPEN) flush(rec);
  stopAudio(rec);
  document.body.classList.remove("recording");
  if (rec.socket.readyState === WebSocket.OPEN) {
    rec.socket.send(JSON.stringify({ type: "end" }));
    setStatus("Finishing the transcript…");
  }
}

// -- downloads -----------------------------------------------------------------------

async function download(event) {
  const format = event.currentTarget.dataset.format;
  if (!state.transcript) return;
  try {
    const response = await fetch("/v1/render", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify({ transcript: state.transcript, format }),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const blob = await response.blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `transcript.${format}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (err) {
    setStatus(`Could not make the .${format} file: ${err.message}`, true);
  }
}

// -- wiring --------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("upload-form").addEventListener("submit", uploadFile);
  $("file-input").addEventListener("change", suggestJob);
  $("record-button").addEventListener("click", startRecording);
  $("stop-button").addEventListener("click", stopRecording);
  $("segments").addEventListener("click", seekTo);
  for (const name of ["play", "pause", "ended", "seeking", "seeked", "timeupdate"]) {
    $("player").addEventListener(name, followAudio);
  }
  for (const id of ["download-txt", "download-srt", "download-vtt"]) {
    $(id).addEventListener("click", download);
  }
  $("api-key").value = sessionStorage.getItem("aural-api-key") || "";
  $("api-key").addEventListener("change", () => {
    sessionStorage.setItem("aural-api-key", $("api-key").value.trim());
  });
  // hotwords: from the page URL (/?hotwords=Gwynplaine,Dea), else this tab's last list
  const page = new URLSearchParams(location.search);
  $("hotwords").value = page.get("hotwords") ?? sessionStorage.getItem("aural-hotwords") ?? "";
  $("hotwords").addEventListener("change", () => {
    sessionStorage.setItem("aural-hotwords", $("hotwords").value.trim());
  });
  $("language").addEventListener("change", () => {
    sessionStorage.setItem("aural-language", $("language").value);
  });
  if (!navigator.mediaDevices || !window.AudioContext) {
    $("record-button").disabled = true;
    setStatus("This browser cannot record here (a secure context is needed for the microphone).");
  }
  loadInfo();
});

// For the browser test and the console: render a transcript, read the page's state.
window.auralPage = Object.freeze({ showTranscript, wordAt, state });
