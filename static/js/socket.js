// Websockets: a run's event stream and the live prediction channel. With api.js, the only
// module that talks to the server.

import { shareToken } from "./api.js";

// A run in one of these will not train again (an interrupted one can be resumed).
const TERMINAL = new Set(["completed", "stopped", "failed"]);

function wsUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * The events of one run, history first, then live; reconnects with `?since=<last seq>` and never
 * hands the same event twice. `onEvent(event)` gets each parsed event; `onConnection(state)` gets
 * "open", "retrying" or "closed".
 */
export class RunStream {
  constructor(runId, { onEvent, onConnection = () => {} }) {
    this.runId = runId;
    this.onEvent = onEvent;
    this.onConnection = onConnection;
    this.lastSeq = -1; // of the stored events (every type but feature maps)
    this.lastFrame = -1; // of feature-map frames: the newest may overtake older events
    this.finished = false; // a terminal status arrived: no reconnecting after the server closes
    this.closed = false;
    this.retry = 0;
    this.socket = null;
    this.timer = null;
  }

  start() {
    this.closed = false;
    this.connect();
    return this;
  }

  connect() {
    const query = new URLSearchParams();
    if (this.lastSeq >= 0) query.set("since", String(this.lastSeq));
    if (shareToken) query.set("share", shareToken);
    const search = query.size ? `?${query}` : "";
    const socket = new WebSocket(wsUrl(`/ws/runs/${encodeURIComponent(this.runId)}${search}`));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.retry = 0;
      this.onConnection("open");
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.closed || this.finished || event.code === 4404) {
        this.onConnection("closed");
        return;
      }
      this.retry += 1;
      this.onConnection("retrying");
      this.timer = setTimeout(() => this.connect(), Math.min(5000, 250 * 2 ** this.retry));
    });
  }

  receive(data) {
    if (typeof data !== "string") return; // binary frames are not part of this protocol
    let event;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof event.seq === "number") {
      if (event.type === "feature_maps") {
        if (event.seq <= this.lastFrame) return;
        this.lastFrame = event.seq;
      } else {
        if (event.seq <= this.lastSeq) return;
        this.lastSeq = event.seq;
      }
    }
    if (event.type === "status" && TERMINAL.has(event.status)) this.finished = true;
    this.onEvent(event);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
    this.socket = null;
  }
}

/**
 * Live predictions over /ws/predict. At most one request is in flight; while it is, newer
 * inputs replace each other, so a burst of strokes costs one answer per round trip.
 * `onResult(answer)` and `onError(message)` are called with the server's replies.
 */
export class PredictSocket {
  constructor({ onResult, onError = () => {}, fallback = null }) {
    this.onResult = onResult;
    this.onError = onError;
    this.fallback = fallback; // async (message) => answer, used when the socket cannot open
    this.pending = null;
    this.inFlight = false;
    this.socket = null;
    this.failures = 0;
    this.watchdog = null;
  }

  /** Ask for a prediction of `message` ({run_id, image | pixels, activations}). */
  predict(message) {
    this.pending = message;
    this.flush();
  }

  flush() {
    if (this.inFlight || !this.pending) return;
    if (this.failures >= 2 && this.fallback) {
      this.viaFallback();
      return;
    }
    const socket = this.open();
    if (socket.readyState !== WebSocket.OPEN) return; // "open" calls flush again
    const message = this.pending;
    this.pending = null;
    this.inFlight = true;
    socket.send(JSON.stringify(shareToken ? { ...message, share: shareToken } : message));
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.settle(), 10000);
  }

  async viaFallback() {
    const message = this.pending;
    this.pending = null;
    this.inFlight = true;
    try {
      this.onResult(await this.fallback(message));
    } catch (error) {
      this.onError(error.message);
    } finally {
      this.settle();
    }
  }

  open() {
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return this.socket;
    const socket = new WebSocket(wsUrl("/ws/predict"));
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.failures = 0;
      this.flush();
    });
    socket.addEventListener("message", (message) => {
      let answer;
      try {
        answer = JSON.parse(message.data);
      } catch {
        answer = { type: "error", detail: "unreadable answer" };
      }
      if (answer.type === "error") this.onError(String(answer.detail ?? "prediction failed"));
      else this.onResult(answer);
      this.settle();
    });
    socket.addEventListener("close", () => {
      if (this.socket === socket) this.socket = null;
      this.failures += 1;
      if (this.inFlight) this.settle();
      else if (this.pending) setTimeout(() => this.flush(), Math.min(4000, 300 * this.failures));
    });
    return socket;
  }

  settle() {
    clearTimeout(this.watchdog);
    this.inFlight = false;
    this.flush();
  }

  close() {
    this.pending = null;
    clearTimeout(this.watchdog);
    if (this.socket) this.socket.close();
    this.socket = null;
  }
}

export { TERMINAL };
