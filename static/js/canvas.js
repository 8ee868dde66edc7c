// The drawing pad: mouse, pen and touch through pointer events; white ink on black like MNIST.

const SIDE = 280; // canvas pixels; CSS scales it to the layout

export class DrawCanvas {
  /**
   * `onChange({final})` is called (at most once per animation frame) while a stroke is drawn,
   * with final=true when the stroke ends and after clear().
   */
  constructor(canvas, { onChange = () => {} } = {}) {
    this.canvas = canvas;
    this.onChange = onChange;
    canvas.width = SIDE;
    canvas.height = SIDE;
    this.ctx = canvas.getContext("2d");
    this.pointer = null; // the id of the pointer drawing now
    this.last = null;
    this.strokes = 0;
    this.frame = null;
    this.fill();
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("lostpointercapture", (e) => this.up(e));
    canvas.addEventListener("keydown", (e) => {
      if (e.key === "Delete" || e.key === "Backspace" || e.key === "Escape") {
        e.preventDefault();
        this.clear();
      }
    });
  }

  /** True once something has been drawn since the last clear. */
  get hasInk() {
    return this.strokes > 0;
  }

  fill() {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, SIDE, SIDE);
  }

  clear() {
    this.fill();
    this.strokes = 0;
    this.onChange({ final: true });
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) / rect.width) * SIDE,
      y: ((event.clientY - rect.top) / rect.height) * SIDE,
    };
  }

  down(event) {
    if (this.pointer !== null || event.button > 0) return;
    event.preventDefault();
    this.pointer = event.pointerId;
    this.canvas.setPointerCapture?.(event.pointerId);
    this.last = this.point(event);
    this.strokes += 1;
    this.segment(this.last, this.last, event);
    this.changed(false);
  }

  move(event) {
    if (event.pointerId !== this.pointer) return;
    event.preventDefault();
    const events = event.getCoalescedEvents?.() ?? [];
    for (const e of events.length ? events : [event]) {
      const p = this.point(e);
      this.segment(this.last, p, e);
      this.last = p;
    }
    this.changed(false);
  }

  up(event) {
    if (event.pointerId !== this.pointer) return;
    this.pointer = null;
    this.last = null;
    this.changed(true);
  }

  segment(from, to, event) {
    const ctx = this.ctx;
    const pressure = event.pointerType === "pen" && event.pressure > 0 ? event.pressure : 0.5;
    ctx.strokeStyle = "#fff";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = SIDE / 14 * (0.75 + pressure * 0.5);
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
  }

  changed(final) {
    if (final) {
      cancelAnimationFrame(this.frame);
      this.frame = null;
      this.onChange({ final: true });
      return;
    }
    if (this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.onChange({ final: false });
    });
  }

  /** The drawing as a PNG data URL (the server crops, scales and centres it like MNIST). */
  toDataURL() {
    return this.canvas.toDataURL("image/png");
  }
}
