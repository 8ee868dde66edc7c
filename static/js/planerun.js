// The 2-D playground's run on the server: the network saved (once per page), a run of it started
// (within the server's epoch limit), its events followed, one-epoch steps, changes it takes as it
// runs (PATCH), pause, resume and stop. After a reset, answers and events of the old run are
// dropped: the page hears only of the current one.

import * as api from "./api.js";
import * as p2 from "./plane2d.js";
import { RunStream } from "./socket.js";

export const ACTIVE = new Set(["queued", "running", "paused"]);

export class PlaneRun {
  /**
   * `onEvent(event)` gets the current run's events (a status event after the run's own status
   * is updated); `onConnection(how)` its stream's "open", "retrying" or "closed"; `epochs` is the
   * most epochs a run asks for (lowered when the server refuses as many).
   */
  constructor({ onEvent, onConnection = () => {}, epochs = p2.EPOCHS }) {
    this.onEvent = onEvent;
    this.onConnection = onConnection;
    this.epochs = epochs;
    this.generation = 0; // bumped by every stop: answers and events for an older run are dropped
    this.run = null; // {id, status, pointsKey}
    this.stream = null;
    this.catchUpStream = null; // a second, short-lived stream for frames the live one missed
    this.models = new Map(); // spec JSON → saved model id
    this.stepping = false; // pause at the next epoch's end
    this.frameSeq = -1; // of the newest boundary frame handed on
  }

  /** The run is queued, running or paused (it can change, pause or stop). */
  get active() {
    return Boolean(this.run && ACTIVE.has(this.run.status));
  }

  /** Save the network of `settings` (once), start a run of it and follow its events; resolves
   * to the run, or null when stop() came first. */
  async start(settings, { stepping = false } = {}) {
    this.stop();
    const generation = this.generation;
    const created = await this.#create(settings, generation);
    if (created === null) return null;
    const run = { id: created.id, status: created.status, pointsKey: p2.pointsKey(settings) };
    this.run = run;
    this.stepping = stepping;
    this.stream = new RunStream(run.id, {
      onEvent: (event) => generation === this.generation && this.#receive(event),
      onConnection: (how) => generation === this.generation && this.onConnection(how),
    }).start();
    return run;
  }

  async #create(settings, generation) {
    const spec = p2.modelSpec(settings);
    const key = JSON.stringify(spec);
    for (let attempt = 0; attempt < 3; attempt++) {
      let modelId = this.models.get(key);
      if (!modelId) {
        modelId = (await api.saveModel(p2.modelName(settings), spec)).id;
        this.models.set(key, modelId);
      }
      if (generation !== this.generation) return null;
      try {
        const created = await api.startRun(modelId, p2.runConfig(settings, this.epochs));
        if (generation === this.generation) return created;
        api.stopRun(created.id).catch(() => {}); // stopped while it was being made
        return null;
      } catch (error) {
        const most = p2.epochLimit(error);
        if (most && most < this.epochs) this.epochs = most; // this server trains fewer epochs
        else if (error.status === 404) this.models.delete(key); // the model was deleted
        else throw error;
      }
    }
    throw new Error("the server refused the run");
  }

  async pause() {
    this.stepping = false;
    await api.pauseRun(this.run.id);
  }

  /** Resume a paused run; `stepping`: pause again at the end of this epoch. */
  async resume({ stepping = false } = {}) {
    this.stepping = stepping;
    await api.resumeRun(this.run.id);
  }

  /** Send `body` ({lr, regularization, regularization_rate}, any of them) to the active run;
   * resolves to true once the server took it, false when there was nothing to send it to. */
  async update(body) {
    if (!this.active || !Object.keys(body).length) return false;
    await api.updateRun(this.run.id, body);
    return true;
  }

  /** Forget the run, stopping it on the server if it is still going. */
  stop() {
    this.generation += 1;
    const old = this.run;
    this.run = null;
    this.stepping = false;
    this.frameSeq = -1;
    this.stream?.close();
    this.stream = null;
    this.catchUpStream?.close();
    this.catchUpStream = null;
    if (old && ACTIVE.has(old.status)) api.stopRun(old.id).catch(() => {});
  }

  #receive(event) {
    if (event.type === "status" && this.run) this.run.status = event.status;
    if (event.type === "epoch" && this.stepping && this.run) {
      this.stepping = false;
      api.pauseRun(this.run.id).catch(() => {}); // it may have finished meanwhile
    }
    if (event.type === "boundary") this.frameSeq = Math.max(this.frameSeq, event.seq);
    this.onEvent(event);
    if (event.type === "status" && (event.status === "paused" || event.status === "completed")) {
      this.#catchUp(event.status);
    }
  }

  /**
   * The server sends a frame only while no newer event has gone out, so the frame taken just
   * before a pause or at the end can be lost. When the run stops moving, read its history since
   * the newest frame handed on (it holds the stored epoch-end frames and the newest one), up to
   * the status event that stopped it.
   */
  #catchUp(status) {
    const run = this.run;
    const generation = this.generation;
    this.catchUpStream?.close();
    const stream = new RunStream(run.id, {
      onEvent: (event) => {
        if (generation !== this.generation) return stream.close();
        if (event.type === "boundary") {
          this.frameSeq = Math.max(this.frameSeq, event.seq);
          this.onEvent(event);
        }
        if (event.type === "status" && event.status === status) stream.close();
      },
    });
    stream.lastSeq = this.frameSeq; // its history starts after this event
    this.catchUpStream = stream.start();
    setTimeout(() => stream.close(), 10_000);
  }
}
