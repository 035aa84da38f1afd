/**
 * Simulcast layers per subscriber (src/msp/switch-off.ts allocate): what a budget and a render size
 * give each received video.
 */
import { describe, expect, test } from 'vitest';
import type { VideoCandidate } from '../src/msp/switch-off';
import { allocate } from '../src/msp/switch-off';

const video = (sid: string, o: Partial<VideoCandidate> = {}): VideoCandidate => ({
  sid,
  subscriberPriority: null,
  publisherPriority: 'standard',
  dominant: false,
  bitrate: 1_200_000,
  layers: [150_000, 500_000, 1_200_000],
  layerHeights: [180, 360, 720],
  renderHeight: null,
  enabled: true,
  on: true,
  layer: Infinity,
  ...o,
});

describe('simulcast layers per subscriber', () => {
  test('without limits every track gets its best layer', () => {
    expect(allocate([video('a'), video('b')], {})).toEqual(new Map([['a', Infinity], ['b', Infinity]]));
  });

  test('a budget gives every track its lowest layer first, then raises the highest priority ones', () => {
    // 1.0 Mbit/s: both at 150 k (300 k), then a raised to 500 k (650 k); raising b too would be 1.0 M: it fits.
    expect(allocate([video('a', { publisherPriority: 'high' }), video('b')], { maxSubscriptionBitrate: 1_000_000 })).toEqual(new Map([['a', 1], ['b', 1]]));
    // 800 k: both at the lowest (300 k), a to 500 k (650 k), b stays at the lowest.
    expect(allocate([video('a'), video('b', { publisherPriority: 'high' })], { maxSubscriptionBitrate: 800_000 })).toEqual(new Map([['b', 1], ['a', 0]]));
    // 250 k: one lowest layer fits, the high-priority track's.
    expect(allocate([video('a'), video('b', { publisherPriority: 'high' })], { maxSubscriptionBitrate: 250_000 })).toEqual(new Map([['b', 0]]));
  });

  test('a render size caps the layer at the smallest one at least that tall', () => {
    expect(allocate([video('a', { renderHeight: 120 }), video('b', { renderHeight: 300 }), video('c', { renderHeight: 1080 })], {})).toEqual(
      new Map([['a', 0], ['b', 1], ['c', Infinity]]),
    );
  });

  test('a layer that is not flowing is skipped', () => {
    expect(allocate([video('a', { layers: [150_000, 0, 1_200_000] })], { maxSubscriptionBitrate: 700_000 })).toEqual(new Map([['a', 0]]));
    expect(allocate([video('a', { layers: [150_000, 0, 1_200_000] })], { maxSubscriptionBitrate: 2_000_000 })).toEqual(new Map([['a', Infinity]]));
  });

  test('a layer already forwarded is kept while the budget is short by no more than 15 %', () => {
    // Raising to layer 1 costs 500 k - 150 k = 350 k more; 320 k is left after the base.
    const budget = { maxSubscriptionBitrate: 470_000 };
    expect(allocate([video('a', { layer: 0 })], budget).get('a')).toBe(0);
    expect(allocate([video('a', { layer: 1 })], budget).get('a')).toBe(1);
  });
});
