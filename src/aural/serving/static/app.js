// aural web page: upload a file to POST /v1/transcribe, or stream the microphone to
// WS /v1/listen as 16-bit PCM and show partial and final results as they arrive.
// No build step and no external resources.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  info: null, // GET /v1/info
  transcript: null, // Transcript JSON (the server's to_dict shape)
  recorder: null, // the live microphone session
};

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

function showTranscript(transcript) {
  state.transcript = transcript;
  $("final-text").textContent = transcript.text || "(no speech found)";
  const list = $("segments");
  list.replaceChildren();
  for (const seg of transcript.segments) {
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = `${formatTime(seg.start)}–${formatTime(seg.end)}`;
    item.append(time, document.createTextNode(seg.text.trim()));
    list.append(item);
  }
  const ready = transcript.segments.length > 0;
  for (const id of ["download-txt", "download-srt", "download-vtt"]) $(id).disabled = !ready;
}

function clearResult() {
  state.transcript = null;
  $("partial").textContent = "";
  $("final-text").textContent = "";
  $("segments").replaceChildren();
  for (const id of ["download-txt", "download-srt", "download-vtt"]) $(id).disabled = true;
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
  } catch (err) {
    $("engine-info").textContent = `Server not reachable: ${err.message}`;
  }
}

// -- upload --------------------------------------------------------------------------

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
    if (hotwords()) form.append("hotwords", hotwords());
    const response = await fetch("/v1/transcribe", {
      method: "POST", body: form, headers: authHeaders(),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const transcript = await response.json();
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
  $("record-button").addEventListener("click", startRecording);
  $("stop-button").addEventListener("click", stopRecording);
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
  if (!navigator.mediaDevices || !window.AudioContext) {
    $("record-button").disabled = true;
    setStatus("This browser cannot record here (a secure context is needed for the microphone).");
  }
  loadInfo();
});
