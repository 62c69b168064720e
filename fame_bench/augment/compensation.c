/* Native kernels of the motion-compensated seed (fame_bench/augment/native.py).
 *
 * The same float operations, in the same order, as the torch ops of augment/motion.py, so that the
 * results are bit for bit the same: compiled without floating-point contraction (no fused
 * multiply-add) and without -ffast-math. Sums in float64 (the frame mean, the Lucas-Kanade sums)
 * may take another order than torch's; their last bits are absorbed by the rounding to the shift
 * grid, as between torch and the NumPy reference (docs/fame.md, "Beyond the paper").
 * Layouts: frames (B, 3, T, H, W) float32, grey (B, T, H, W) float32, all contiguous.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static inline int64_t clampi(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* nearbyint (half to even) without a library call: adding and taking away 1.5 * 2^52 rounds a
 * double of magnitude below 2^51 to an integer in the default rounding mode, as nearbyint does */
static inline double round_even(double x) {
    return (x + 6755399441055744.0) - 6755399441055744.0;
}

/* the same for a float >= 0: below 2^23 by adding and taking away 2^23; from 2^23 on, a float is
 * an integer already. What no int32 holds (NaN, inf: values the caller refuses) is held at
 * 2^31 - 128, so the conversion that follows is always defined. */
static inline float round_even_nonnegative(float x) {
    const float rounded = (x + 8388608.0f) - 8388608.0f;
    const float whole = x < 8388608.0f ? rounded : x;
    return whole < 2147483520.0f ? whole : 2147483520.0f; /* NaN too */
}

/* grey = (red + green) + blue, per pixel of every frame */
void grey_frames(const float *frames, int64_t clips, int64_t frames_per_clip, int64_t pixels,
                 float *grey) {
    for (int64_t b = 0; b < clips; b++) {
        for (int64_t t = 0; t < frames_per_clip; t++) {
            const float *r = frames + ((b * 3 + 0) * frames_per_clip + t) * pixels;
            const float *g = frames + ((b * 3 + 1) * frames_per_clip + t) * pixels;
            const float *bl = frames + ((b * 3 + 2) * frames_per_clip + t) * pixels;
            float *out = grey + (b * frames_per_clip + t) * pixels;
            for (int64_t i = 0; i < pixels; i++) out[i] = (r[i] + g[i]) + bl[i];
        }
    }
}

/* accumulate_frames without compensation: motion (B, H, W) = sum over t of
 * (|r_t - r_t-1| + |g_t - g_t-1|) + |b_t - b_t-1|, added in time order (skipped when motion is
 * NULL); totals (B, 3, H, W) = the frames' sum in time order (both before the division by T - 1
 * and T); grey (B, T, H, W) = (r + g) + b of every frame, in the same read (when not NULL) */
void frame_sums(const float *frames, int64_t clips, int64_t frames_per_clip, int64_t pixels,
                float *motion, float *totals, float *grey) {
    const int64_t T = frames_per_clip;
    for (int64_t b = 0; b < clips; b++) {
        const float *clip = frames + b * 3 * T * pixels;
        float *change = motion ? motion + b * pixels : NULL, *total = totals + b * 3 * pixels;
        for (int64_t i = 0; change && i < pixels; i++) change[i] = 0.0f;
        for (int c = 0; c < 3; c++)
            for (int64_t i = 0; i < pixels; i++) total[c * pixels + i] = clip[c * T * pixels + i];
        for (int64_t t = 0; t < T; t++) {
            const float *r = clip + t * pixels, *g = clip + (T + t) * pixels;
            const float *bl = clip + (2 * T + t) * pixels;
            float *grey_t = grey ? grey + (b * T + t) * pixels : NULL;
            for (int64_t i = 0; grey_t && i < pixels; i++) grey_t[i] = (r[i] + g[i]) + bl[i];
            if (t == 0) continue; /* frame 0 starts the totals; it has no difference */
            for (int64_t i = 0; change && i < pixels; i++) {
                const float step = (fabsf(r[i] - r[i - pixels]) + fabsf(g[i] - g[i - pixels]))
                                   + fabsf(bl[i] - bl[i - pixels]);
                change[i] = change[i] + step;
            }
            for (int c = 0; c < 3; c++) {
                const float *x = clip + (c * T + t) * pixels;
                float *sum = total + c * pixels;
                for (int64_t i = 0; i < pixels; i++) sum[i] = sum[i] + x[i];
            }
        }
    }
}

/* block_sums: frames (N, H, W) summed over k x k blocks into (N, H / k, W / k), the k^2 pixels
 * of a block added in row-major order (rows and columns past the last whole block dropped) */
void block_sums(const float *frames, int64_t count, int64_t height, int64_t width, int64_t k,
                float *out) {
    const int64_t rows = height / k, cols = width / k;
    for (int64_t n = 0; n < count; n++) {
        const float *frame = frames + n * height * width;
        float *pooled = out + n * rows * cols;
        for (int64_t y = 0; y < rows; y++) {
            float *line = pooled + y * cols;
            for (int64_t x = 0; x < cols; x++) line[x] = frame[y * k * width + x * k];
            for (int64_t i = 0; i < k; i++) {
                const float *source = frame + (y * k + i) * width;
                for (int64_t j = 0; j < k; j++) {
                    if (i == 0 && j == 0) continue;
                    for (int64_t x = 0; x < cols; x++) line[x] = line[x] + source[x * k + j];
                }
            }
        }
    }
}

/* correlation_spectrum's input: each grey frame in float64, its mean removed, times window */
void prepare_frames(const float *grey, int64_t count, int64_t pixels, const double *window,
                    double *out) {
    for (int64_t n = 0; n < count; n++) {
        const float *g = grey + n * pixels;
        double *o = out + n * pixels;
        double total = 0.0;
        for (int64_t i = 0; i < pixels; i++) total += (double)g[i];
        const double mean = total / (double)pixels;
        for (int64_t i = 0; i < pixels; i++) o[i] = ((double)g[i] - mean) * window[i];
    }
}

/* lag_of_peak: the first largest of round(c / max|c| * 2^30), as a signed lag (dy, dx) */
void peak_lags(const double *correlation, int64_t count, int64_t height, int64_t width,
               double *lags) {
    const int64_t pixels = height * width;
    for (int64_t n = 0; n < count; n++) {
        const double *c = correlation + n * pixels;
        double high = c[0], low = c[0];
        for (int64_t i = 1; i < pixels; i++) {
            high = c[i] > high ? c[i] : high;
            low = c[i] < low ? c[i] : low;
        }
        double scale = high > -low ? high : -low;
        if (!(scale > 0)) scale = 1.0;
        int64_t best = 0;
        double best_level = round_even(c[0] / scale * 1073741824.0);
        for (int64_t i = 1; i < pixels; i++) {
            const double level = round_even(c[i] / scale * 1073741824.0);
            if (level > best_level) { best_level = level; best = i; }
        }
        int64_t dy = best / width, dx = best - (best / width) * width;
        if (2 * dy >= height) dy -= height;
        if (2 * dx >= width) dx -= width;
        lags[2 * n] = (double)dy;
        lags[2 * n + 1] = (double)dx;
    }
}

/* refine_shift: one damped Lucas-Kanade step from the whole shift (wy, wx), rounded to the grid */
static void refine(const float *previous, const float *current, int64_t height, int64_t width,
                   int64_t wy, int64_t wx, double max_step, double damping_factor, double grid,
                   double *shift) {
    double a_yy = 0, a_xx = 0, a_xy = 0, b_y = 0, b_x = 0;
    /* the error is taken where (y + wy, x + wx) lies in the frame, else 0 */
    const int64_t x_lo = clampi(-wx, 1, width - 1), x_hi = clampi(width - wx, 1, width - 1);
    for (int64_t y = 1; y < height - 1; y++) {
        const float *up = previous + (y - 1) * width, *mid = previous + y * width;
        const float *down = previous + (y + 1) * width;
        const int64_t source = y + wy;
        const int row_inside = source >= 0 && source <= height - 1;
        const float *moved = current + clampi(source, 0, height - 1) * width;
        for (int64_t x = 1; x < width - 1; x++) {
            const float gy = (down[x] - up[x]) * 0.5f;
            const float gx = (mid[x + 1] - mid[x - 1]) * 0.5f;
            const float error = (row_inside && x >= x_lo && x < x_hi)
                                    ? moved[x + wx] - mid[x] : 0.0f;
            a_yy += (double)(gy * gy);
            a_xx += (double)(gx * gx);
            a_xy += (double)(gy * gx);
            b_y += (double)(gy * error);
            b_x += (double)(gx * error);
        }
    }
    const double damping = damping_factor * (a_yy + a_xx);
    const double det = (a_yy + damping) * (a_xx + damping) - a_xy * a_xy;
    double step_y = 0.0, step_x = 0.0;
    if (det > 0) {
        step_y = -((a_xx + damping) * b_y - a_xy * b_x) / det;
        step_x = -((a_yy + damping) * b_x - a_xy * b_y) / det;
    }
    /* NaN or inf frames (refused by the caller, after this pass) must not turn into a shift
     * whose integer part is undefined: no step then */
    if (!isfinite(step_y) || !isfinite(step_x)) step_y = step_x = 0.0;
    step_y = step_y < -max_step ? -max_step : (step_y > max_step ? max_step : step_y);
    step_x = step_x < -max_step ? -max_step : (step_x > max_step ? max_step : step_x);
    shift[0] = nearbyint(((double)wy + step_y) * grid) / grid;
    shift[1] = nearbyint(((double)wx + step_x) * grid) / grid;
}

/* refine for every frame pair of every clip of grey (B, T, H, W), from whole (B, T - 1, 2) */
void refine_pairs(const float *grey, int64_t clips, int64_t frames_per_clip, int64_t height,
                  int64_t width, const double *whole, double max_step, double damping_factor,
                  double grid, double *shifts) {
    const int64_t pixels = height * width, pairs = frames_per_clip - 1;
    for (int64_t b = 0; b < clips; b++) {
        for (int64_t k = 0; k < pairs; k++) {
            const int64_t pair = b * pairs + k;
            refine(grey + (b * frames_per_clip + k) * pixels,
                   grey + (b * frames_per_clip + k + 1) * pixels, height, width,
                   (int64_t)whole[2 * pair], (int64_t)whole[2 * pair + 1], max_step,
                   damping_factor, grid, shifts + 2 * pair);
        }
    }
}

/* For every clip and frame pair, in time order: the refined shift, the three-channel change of
 * the aligned later frame (bilinear, rows then columns), its pixels whose sample left the frame
 * set to the mean of the others (fill_invalid, in fixed point), added to motion (B, H, W).
 * Returns 0, or -1 when out of memory. */
int compensated_changes(const float *frames, const float *grey, int64_t clips,
                        int64_t frames_per_clip, int64_t height, int64_t width,
                        const double *whole, double max_step, double damping_factor, double grid,
                        float *motion) {
    const int64_t T = frames_per_clip, pixels = height * width, pairs = T - 1;
    float *change = malloc(sizeof(float) * (size_t)(pixels > 0 ? pixels : 1));
    float *rows = malloc(sizeof(float) * (size_t)(width + 1));
    if (!change || !rows) {
        free(change);
        free(rows);
        return -1;
    }
    for (int64_t b = 0; b < clips; b++) {
        float *total = motion + b * pixels;
        const float *clip = frames + b * 3 * T * pixels;
        for (int64_t k = 0; k < pairs; k++) {
            const int64_t pair = b * pairs + k;
            double shift[2];
            refine(grey + (b * T + k) * pixels, grey + (b * T + k + 1) * pixels, height, width,
                   (int64_t)whole[2 * pair], (int64_t)whole[2 * pair + 1], max_step,
                   damping_factor, grid, shift);
            const double floor_y = floor(shift[0]), floor_x = floor(shift[1]);
            const int64_t iy = (int64_t)floor_y, ix = (int64_t)floor_x;
            const float fy = (float)(shift[0] - floor_y), fx = (float)(shift[1] - floor_x);
            const float keep_y = 1.0f - fy, keep_x = 1.0f - fx;
            const int64_t reach_y = fy > 0, reach_x = fx > 0;
            /* shift_valid's columns: x + ix >= 0 and x + ix + reach_x <= W - 1 */
            const int64_t valid_lo = clampi(-ix, 0, width);
            const int64_t valid_hi = clampi(width - ix - reach_x, valid_lo, width);
            /* window columns 0..W read at x + ix, unclamped in [read_lo, read_hi) */
            const int64_t read_lo = clampi(-ix, 0, width + 1);
            const int64_t read_hi = clampi(width - ix, read_lo, width + 1);
            int64_t fixed_total = 0, valid_count = 0;
            for (int64_t y = 0; y < height; y++) {
                const int64_t r0 = clampi(y + iy, 0, height - 1);
                const int64_t r1 = clampi(y + iy + 1, 0, height - 1);
                float *out = change + y * width;
                for (int64_t x = 0; x < width; x++) out[x] = 0.0f;
                for (int c = 0; c < 3; c++) {
                    const float *top = clip + (c * T + k + 1) * pixels + r0 * width;
                    const float *bottom = clip + (c * T + k + 1) * pixels + r1 * width;
                    const float *before = clip + (c * T + k) * pixels + y * width;
                    for (int64_t x = 0; x < read_lo; x++)
                        rows[x] = top[0] * keep_y + bottom[0] * fy;
                    for (int64_t x = read_lo; x < read_hi; x++)
                        rows[x] = top[x + ix] * keep_y + bottom[x + ix] * fy;
                    for (int64_t x = read_hi; x <= width; x++)
                        rows[x] = top[width - 1] * keep_y + bottom[width - 1] * fy;
                    for (int64_t x = 0; x < width; x++) {
                        const float sample = rows[x] * keep_x + rows[x + 1] * fx;
                        out[x] = out[x] + fabsf(sample - before[x]);
                    }
                }
                if (y + iy >= 0 && y + iy + reach_y <= height - 1) {
                    /* int32 holds every value (a change is at most 3, times 2^24) and integer
                     * sums are exact in any order, so this loop vectorises */
                    for (int64_t x = valid_lo; x < valid_hi; x++)
                        fixed_total += (int32_t)round_even_nonnegative(out[x] * 16777216.0f);
                    valid_count += valid_hi - valid_lo;
                }
            }
            const float mean = (float)((double)fixed_total
                                       / (double)(valid_count > 0 ? valid_count : 1) / 16777216.0);
            for (int64_t y = 0; y < height; y++) {
                float *sum = total + y * width;
                const float *out = change + y * width;
                const int row_valid = y + iy >= 0 && y + iy + reach_y <= height - 1;
                const int64_t lo = row_valid ? valid_lo : width, hi = row_valid ? valid_hi : width;
                for (int64_t x = 0; x < lo; x++) sum[x] += mean;
                for (int64_t x = lo; x < hi; x++) sum[x] += out[x];
                for (int64_t x = hi > lo ? hi : lo; x < width; x++) sum[x] += mean;
            }
        }
    }
    free(change);
    free(rows);
    return 0;
}
