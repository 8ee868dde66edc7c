// The cart and pole of a `cartpole` frame without the DOM: where each part is drawn for a state
// (x: the cart's position in metres, theta: the pole's angle in radians, 0 upright), which state
// plays at a given time, and the return so far. Tests: tests/js/dqn.test.mjs.

export const POLE_LENGTH = 1.0; // metres (CartPole-v1's half-length is 0.5)
const CART_WIDTH = 0.5; // metres
const CART_HEIGHT = 0.3;
const MARGIN = 0.5; // metres of floor beyond each end of the track
const DEFAULT_LIMITS = { x: 2.4, theta: (12 * 2 * Math.PI) / 360 };

/**
 * The parts of the picture for one state, in canvas pixels (y grows downwards) of a
 * width × height canvas: {scale (px per metre), track {x0, x1, y}, cart {x, y, w, h},
 * pole {x0, y0, x1, y1}, arrow {x0, x1, y} or null (action: 0 push left, 1 push right)}.
 */
export function cartGeometry(x, theta, action, { width, height, limits = DEFAULT_LIMITS }) {
  const reach = (limits?.x ?? DEFAULT_LIMITS.x) + MARGIN;
  const scale = Math.min(width / (2 * reach), (height * 0.75) / (POLE_LENGTH + CART_HEIGHT));
  const middle = width / 2;
  const trackY = height - 0.12 * height;
  const centre = middle + x * scale;
  const cart = { x: centre - (CART_WIDTH * scale) / 2, y: trackY - CART_HEIGHT * scale, w: CART_WIDTH * scale, h: CART_HEIGHT * scale };
  const pivotY = cart.y;
  const pole = {
    x0: centre,
    y0: pivotY,
    x1: centre + Math.sin(theta) * POLE_LENGTH * scale,
    y1: pivotY - Math.cos(theta) * POLE_LENGTH * scale,
  };
  let arrow = null;
  if (action === 0 || action === 1) {
    const sign = action === 1 ? 1 : -1;
    const start = centre + sign * (cart.w / 2 + 4);
    arrow = { x0: start, x1: start + sign * Math.max(14, 0.35 * scale), y: cart.y + cart.h / 2 };
  }
  const edge = (limits?.x ?? DEFAULT_LIMITS.x) * scale;
  return { scale, track: { x0: middle - edge, x1: middle + edge, y: trackY }, cart, pole, arrow };
}

/** The state shown `seconds` after a frame started playing at state `from` (real time:
 *  one state per `seconds_per_step`), the last one once past its end. */
export function stateAt(frame, seconds, from = 0) {
  const count = frame?.x?.length ?? 0;
  if (!count) return -1;
  const per = frame.seconds_per_step > 0 ? frame.seconds_per_step : 0.02;
  return Math.min(count - 1, from + Math.max(0, Math.floor(seconds / per)));
}

/** Whether the frame has played to its last state. */
export function finished(frame, seconds, from = 0) {
  const count = frame?.x?.length ?? 0;
  const per = frame?.seconds_per_step > 0 ? frame.seconds_per_step : 0.02;
  return from + seconds / per >= count;
}

/**
 * Where a live frame starts playing: a frame carries the states since the previous one, played
 * faster than real time by the trainer; showing its last `interval / seconds_per_step` states
 * in real time ends about when the next frame comes, so the cart moves without jumps or pauses.
 */
export function liveStart(frame, interval) {
  const count = frame?.x?.length ?? 0;
  const per = frame?.seconds_per_step > 0 ? frame.seconds_per_step : 0.02;
  const shown = Math.max(1, Math.round(interval / per));
  return Math.max(0, count - shown);
}

/**
 * The return so far at state `index`: the frame's `return` counts the rewards up to its last
 * state's step, and CartPole pays 1 per step, so each state before the last had 1 less.
 */
export function returnAt(frame, index) {
  const count = frame?.x?.length ?? 0;
  if (!count || typeof frame.return !== "number") return null;
  return Math.max(0, frame.return - (count - 1 - index));
}

/** Whether the state is past the frame's limits (the episode ended there). */
export function outOfBounds(frame, index) {
  const limits = frame?.limits ?? DEFAULT_LIMITS;
  return Math.abs(frame.x[index]) > limits.x || Math.abs(frame.theta[index]) > limits.theta;
}
