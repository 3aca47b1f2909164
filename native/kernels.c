/*
 * The native kernel set for the tfjs wasm backend (BCR_KERNELS=native, src/engine/native-kernels.ts):
 * a Node-API addon whose functions read and write float32 arrays in place inside an ArrayBuffer,
 * the wasm backend's heap, so a tfjs kernel can run at native speed without copying its operands
 * out of wasm. Offsets and strides are in float32 elements; every range is bounds-checked against
 * the buffer before any arithmetic.
 *
 * OpenBLAS is opened with dlopen at load time rather than linked, so building needs no -dev
 * package (only gcc and the Node-API headers) and a machine without libopenblas gets a clear
 * error from load() instead of a module that fails to import.
 *
 * Exports:
 *   load(path) -> string                 opens the library; returns its config string
 *   setThreads(n)                        openblas_set_num_threads (process-wide)
 *   gemm(buffer, batch, m, n, k, transA, transB,
 *        aOffset, aStride, bOffset, bStride, cOffset, cStride, beta)
 *     For i < batch: C_i = op(A_i) @ op(B_i) + beta * C_i, row-major. A stride of 0 broadcasts
 *     one operand over the batch.
 *   attention(buffer, qkvOffset, outOffset, B, T, H, hd, pads)            forward
 *   attentionGrad(buffer, qkvOffset, dyOffset, outOffset, B, T, H, hd, pads) backward
 *     Causal multi-head self-attention straight from the c_attn output qkv [B*T, 3C] (q, k, v
 *     side by side, C = H*hd) to y [B*T, C], and its gradient dqkv [B*T, 3C] from dy [B*T, C].
 *     Each (sequence, head) reads its q, k and v in place through sgemm's leading dimension
 *     (3C), so nothing is cut out or copied; the [T, T] probabilities live in a scratch buffer
 *     and are recomputed in the backward pass rather than stored. pads (Int32Array of B, or
 *     null) hides the first pads[b] key columns of sequence b, exactly as the additive -1e9
 *     mask of the tfjs paths does (including its rows for the pad queries themselves).
 *   cachedAttention(buffer, q, k1, v1, n1, k2, v2, n2, bias, out, B, H, hd)
 *     One decoding step against the KV cache: for each of the B*H rows, softmax(q . keys + bias)
 *     over the old block (k1, v1: [B*H, n1, hd]) then the recent one (k2, v2: n2 positions, n2 may
 *     be 0), times the values; q [B*H, hd] already scaled; bias [B, n1 + n2] (per sequence, shared
 *     by its heads). No gradient: generation only.
 *   layerNorm(buffer, x, w, b, y, R, C)                 y = (x - mean) * rstd * w + b per row
 *   layerNormGrad(buffer, x, w, dy, dx, dw, db, R, C)   its gradient (mean, rstd recomputed)
 *   gelu(buffer, x, y, n) / geluGrad(buffer, x, dy, dx, n)
 *     GELU, tanh approximation, as x * sigmoid(z), z = x (A + B x^2) (src/model/gpt.ts)
 */
#include <dlfcn.h>
#include <node_api.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef char *(*config_fn)(void);

static sgemm_fn sgemm = NULL;
static sgemv_fn sgemv = NULL;
static set_threads_fn set_threads = NULL;
static config_fn get_config = NULL;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "native kernels: Node-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[1024];
  size_t len = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_error(env, "load(path): path is required");
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len));
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    return throw_error(env, why ? why : "dlopen failed");
  }
  sgemm_fn f = (sgemm_fn)dlsym(lib, "cblas_sgemm");
  if (!f) return throw_error(env, "the library has no cblas_sgemm");
  sgemm = f;
  sgemv = (sgemv_fn)dlsym(lib, "cblas_sgemv");
  set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
  get_config = (config_fn)dlsym(lib, "openblas_get_config");
  napi_value out;
  CHECK(napi_create_string_utf8(env, get_config ? get_config() : "cblas", NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value set_threads_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_error(env, "setThreads(n): n is required");
  CHECK(napi_get_value_int32(env, argv[0], &n));
  if (n < 1) return throw_error(env, "setThreads(n): n must be at least 1");
  if (set_threads) set_threads(n);
  return NULL;
}

/* Elements [offset, offset + (batch-1)*stride + span) must lie inside the buffer. */
static int in_bounds(int64_t offset, int64_t stride, int64_t batch, int64_t span, int64_t total) {
  if (offset < 0 || stride < 0 || span < 0 || batch < 1) return 0;
  int64_t last = offset + (batch - 1) * stride + span;
  return last <= total;
}

#define MAX_ARGS 14

static int64_t fail(napi_env env, const char *who, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", who, what);
  napi_throw_error(env, NULL, msg);
  return -1;
}

/* Every kernel's arguments: the heap (an ArrayBuffer) first, then `count` integers (offsets and
   sizes, read into v), then `extra` arguments of the kernel's own, left in argv. Returns the
   heap's size in floats, or -1 after throwing an error that starts with `who`. */
static int64_t read_args(napi_env env, napi_callback_info info, const char *who, size_t count, size_t extra,
                         napi_value *argv, float **base, int64_t *v) {
  size_t argc = MAX_ARGS;
  if (count + extra + 1 > MAX_ARGS || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
      argc < count + extra + 1)
    return fail(env, who, "wrong number of arguments");
  void *data = NULL;
  size_t bytes = 0;
  bool is_ab = false;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab ||
      napi_get_arraybuffer_info(env, argv[0], &data, &bytes) != napi_ok)
    return fail(env, who, "the first argument must be an ArrayBuffer");
  for (size_t i = 0; i < count; i++)
    if (napi_get_value_int64(env, argv[i + 1], &v[i]) != napi_ok)
      return fail(env, who, "offsets and sizes must be numbers");
  *base = (float *)data;
  return (int64_t)(bytes / sizeof(float));
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  float *base;
  int64_t v[12];
  int64_t total = read_args(env, info, "gemm", 12, 1, argv, &base, v);
  if (total < 0) return NULL;
  if (!sgemm) return throw_error(env, "gemm: load() has not opened a BLAS library");
  double beta = 0;
  CHECK(napi_get_value_double(env, argv[13], &beta));
  int64_t batch = v[0], m = v[1], n = v[2], k = v[3];
  int trans_a = v[4] != 0, trans_b = v[5] != 0;
  int64_t a_off = v[6], a_stride = v[7], b_off = v[8], b_stride = v[9], c_off = v[10], c_stride = v[11];
  if (batch < 1 || m < 1 || n < 1 || k < 1 || m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
    return throw_error(env, "gemm: batch, m, n and k must be positive 32-bit sizes");
  if (!in_bounds(a_off, a_stride, batch, m * k, total) || !in_bounds(b_off, b_stride, batch, k * n, total) ||
      !in_bounds(c_off, c_stride, batch, m * n, total))
    return throw_error(env, "gemm: an operand lies outside the buffer");
  int lda = trans_a ? (int)m : (int)k;
  int ldb = trans_b ? (int)k : (int)n;
  if (m == 1 && sgemv) {
    /* One row (a cached decoding step): a matrix-vector product, without sgemm's packing. The
       row is contiguous whether or not A is transposed. */
    for (int64_t i = 0; i < batch; i++) {
      const float *a = base + a_off + i * a_stride, *b = base + b_off + i * b_stride;
      float *c = base + c_off + i * c_stride;
      if (trans_b) /* B is [n, k]: c = B a */
        sgemv(ROW_MAJOR, NO_TRANS, (int)n, (int)k, 1.0f, b, (int)k, a, 1, (float)beta, c, 1);
      else /* B is [k, n]: c = B^T a */
        sgemv(ROW_MAJOR, TRANS, (int)k, (int)n, 1.0f, b, (int)n, a, 1, (float)beta, c, 1);
    }
    return NULL;
  }
  for (int64_t i = 0; i < batch; i++) {
    sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, (int)m, (int)n, (int)k, 1.0f,
          base + a_off + i * a_stride, lda, base + b_off + i * b_stride, ldb, (float)beta, base + c_off + i * c_stride,
          (int)n);
  }
  return NULL;
}

/* Arguments shared by the two attention entry points, read and bounds-checked. */
typedef struct {
  float *base;
  int64_t qkv, dy, out;
  int64_t B, T, H, hd;
  const int32_t *pads;
} attn_args;

static int read_attention_args(napi_env env, napi_callback_info info, int with_dy, attn_args *a) {
  napi_value argv[MAX_ARGS];
  int64_t v[7];
  size_t nv = with_dy ? 7 : 6;
  int64_t total = read_args(env, info, "attention", nv, 1, argv, &a->base, v);
  if (total < 0) return 0;
  if (!sgemm) {
    napi_throw_error(env, NULL, "attention: load() has not opened a BLAS library");
    return 0;
  }
  size_t at = 0;
  a->qkv = v[at++];
  a->dy = with_dy ? v[at++] : 0;
  a->out = v[at++];
  a->B = v[at++];
  a->T = v[at++];
  a->H = v[at++];
  a->hd = v[at++];
  a->pads = NULL;
  napi_value pads_arg = argv[nv + 1];
  napi_valuetype t;
  if (napi_typeof(env, pads_arg, &t) != napi_ok) return 0;
  if (t != napi_null && t != napi_undefined) {
    napi_typedarray_type type;
    size_t length = 0;
    void *pdata = NULL;
    bool is_ta = false;
    if (napi_is_typedarray(env, pads_arg, &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, pads_arg, &type, &length, &pdata, NULL, NULL) != napi_ok ||
        type != napi_int32_array || (int64_t)length != a->B) {
      napi_throw_error(env, NULL, "attention: pads must be null or an Int32Array of B entries");
      return 0;
    }
    a->pads = (const int32_t *)pdata;
  }
  if (a->B < 1 || a->T < 1 || a->H < 1 || a->hd < 1 || a->T > 65536 || a->H * a->hd > INT32_MAX / 3) {
    napi_throw_error(env, NULL, "attention: B, T, H and hd must be positive (T at most 65536)");
    return 0;
  }
  int64_t C = a->H * a->hd;
  int64_t rows = a->B * a->T;
  int ok = in_bounds(a->qkv, 0, 1, rows * 3 * C, total) && in_bounds(a->out, 0, 1, rows * (with_dy ? 3 : 1) * C, total) &&
           (!with_dy || in_bounds(a->dy, 0, 1, rows * C, total));
  if (!ok) {
    napi_throw_error(env, NULL, "attention: an operand lies outside the buffer");
    return 0;
  }
  return 1;
}

/*
 * P = softmax(scale * q k^T + mask) for one (sequence, head), into p [T, T] (row-major).
 * Row i attends to columns pad..i. A row with i < pad (a pad query: nothing visible) gets what
 * softmax gives under the additive mask, where every score is absorbed by -1e9 or -2e9: uniform
 * over the columns masked once (j <= i, or j >= pad), 0 on those masked twice.
 */
static void probabilities(const float *q, const float *k, int64_t ld, int64_t T, int64_t hd, float scale, int64_t pad,
                          float *p) {
  sgemm(ROW_MAJOR, NO_TRANS, TRANS, (int)T, (int)T, (int)hd, scale, q, (int)ld, k, (int)ld, 0.0f, p, (int)T);
  for (int64_t i = 0; i < T; i++) {
    float *row = p + i * T;
    int64_t lo = i < pad ? 0 : pad;
    if (i < pad) {
      /* Every column carries -1e9 once (a pad at or before i, or a future non-pad column) or
         twice (a future pad): uniform over the first kind, as the additive mask gives. */
      float u = 1.0f / (float)(i + 1 + T - pad);
      for (int64_t j = 0; j < T; j++) row[j] = (j <= i || j >= pad) ? u : 0.0f;
      continue;
    } else {
      float mx = row[lo];
      for (int64_t j = lo + 1; j <= i; j++) mx = row[j] > mx ? row[j] : mx;
      float sum = 0.0f;
      for (int64_t j = lo; j <= i; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
      }
      float inv = 1.0f / sum;
      for (int64_t j = lo; j <= i; j++) row[j] *= inv;
    }
    for (int64_t j = 0; j < lo; j++) row[j] = 0.0f;
    for (int64_t j = i + 1; j < T; j++) row[j] = 0.0f;
  }
}

static napi_value attention(napi_env env, napi_callback_info info) {
  attn_args a;
  if (!read_attention_args(env, info, 0, &a)) return NULL;
  int64_t C = a.H * a.hd, ld = 3 * C, T = a.T;
  float scale = 1.0f / sqrtf((float)a.hd);
  float *p = (float *)malloc((size_t)(T * T) * sizeof(float));
  if (!p) return throw_error(env, "attention: out of memory for the [T, T] scratch");
  for (int64_t b = 0; b < a.B; b++) {
    for (int64_t h = 0; h < a.H; h++) {
      const float *q = a.base + a.qkv + b * T * ld + h * a.hd;
      probabilities(q, q + C, ld, T, a.hd, scale, a.pads ? a.pads[b] : 0, p);
      float *y = a.base + a.out + b * T * C + h * a.hd;
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)T, (int)a.hd, (int)T, 1.0f, p, (int)T, q + 2 * C, (int)ld, 0.0f, y,
            (int)C);
    }
  }
  free(p);
  return NULL;
}

static napi_value attention_grad(napi_env env, napi_callback_info info) {
  attn_args a;
  if (!read_attention_args(env, info, 1, &a)) return NULL;
  int64_t C = a.H * a.hd, ld = 3 * C, T = a.T;
  float scale = 1.0f / sqrtf((float)a.hd);
  float *p = (float *)malloc((size_t)(2 * T * T) * sizeof(float));
  if (!p) return throw_error(env, "attentionGrad: out of memory for the [T, T] scratch");
  float *dp = p + T * T;
  for (int64_t b = 0; b < a.B; b++) {
    for (int64_t h = 0; h < a.H; h++) {
      const float *q = a.base + a.qkv + b * T * ld + h * a.hd;
      const float *k = q + C, *v = q + 2 * C;
      const float *dy = a.base + a.dy + b * T * C + h * a.hd;
      float *dq = a.base + a.out + b * T * ld + h * a.hd;
      float *dk = dq + C, *dv = dq + 2 * C;
      probabilities(q, k, ld, T, a.hd, scale, a.pads ? a.pads[b] : 0, p);
      /* dv = P^T dy;  dP = dy v^T */
      sgemm(ROW_MAJOR, TRANS, NO_TRANS, (int)T, (int)a.hd, (int)T, 1.0f, p, (int)T, dy, (int)C, 0.0f, dv, (int)ld);
      sgemm(ROW_MAJOR, NO_TRANS, TRANS, (int)T, (int)T, (int)a.hd, 1.0f, dy, (int)C, v, (int)ld, 0.0f, dp, (int)T);
      /* softmax backward: dS = P * (dP - rowsum(P * dP)), in place in dp */
      for (int64_t i = 0; i < T; i++) {
        float *pr = p + i * T, *dr = dp + i * T;
        float dot = 0.0f;
        /* Whole rows: a pad query's row has weight beyond i (see probabilities). */
        for (int64_t j = 0; j < T; j++) dot += pr[j] * dr[j];
        for (int64_t j = 0; j < T; j++) dr[j] = pr[j] * (dr[j] - dot);
      }
      /* dq = scale * dS k;  dk = scale * dS^T q */
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)T, (int)a.hd, (int)T, scale, dp, (int)T, k, (int)ld, 0.0f, dq, (int)ld);
      sgemm(ROW_MAJOR, TRANS, NO_TRANS, (int)T, (int)a.hd, (int)T, scale, dp, (int)T, q, (int)ld, 0.0f, dk, (int)ld);
    }
  }
  free(p);
  return NULL;
}

#define NEED(cond, msg)                 \
  do {                                  \
    if (!(cond)) return throw_error(env, msg); \
  } while (0)

static const float LN_EPS = 1e-5f;

/* Mean and 1/sqrt(biased variance + eps) of one row, accumulated in double (two passes). */
static void row_stats(const float *x, int64_t C, float *m, float *rstd) {
  double mean = 0, var = 0;
  for (int64_t c = 0; c < C; c++) mean += x[c];
  mean /= (double)C;
  for (int64_t c = 0; c < C; c++) var += (x[c] - mean) * (x[c] - mean);
  *rstd = (float)(1.0 / sqrt(var / (double)C + LN_EPS));
  *m = (float)mean;
}

static napi_value layer_norm(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  float *base;
  int64_t v[6];
  int64_t total = read_args(env, info, "layerNorm", 6, 0, argv, &base, v);
  if (total < 0) return NULL;
  int64_t R = v[4], C = v[5];
  NEED(R >= 1 && C >= 1, "layerNorm: R and C must be positive");
  NEED(in_bounds(v[0], 0, 1, R * C, total) && in_bounds(v[1], 0, 1, C, total) && in_bounds(v[2], 0, 1, C, total) &&
           in_bounds(v[3], 0, 1, R * C, total),
       "layerNorm: an operand lies outside the buffer");
  const float *w = base + v[1], *b = base + v[2];
  for (int64_t r = 0; r < R; r++) {
    const float *x = base + v[0] + r * C;
    float *y = base + v[3] + r * C;
    float m, rstd;
    row_stats(x, C, &m, &rstd);
    for (int64_t c = 0; c < C; c++) y[c] = (x[c] - m) * rstd * w[c] + b[c];
  }
  return NULL;
}

static napi_value layer_norm_grad(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  float *base;
  int64_t v[8];
  int64_t total = read_args(env, info, "layerNormGrad", 8, 0, argv, &base, v);
  if (total < 0) return NULL;
  int64_t R = v[6], C = v[7];
  NEED(R >= 1 && C >= 1, "layerNormGrad: R and C must be positive");
  NEED(in_bounds(v[0], 0, 1, R * C, total) && in_bounds(v[1], 0, 1, C, total) && in_bounds(v[2], 0, 1, R * C, total) &&
           in_bounds(v[3], 0, 1, R * C, total) && in_bounds(v[4], 0, 1, C, total) && in_bounds(v[5], 0, 1, C, total),
       "layerNormGrad: an operand lies outside the buffer");
  const float *w = base + v[1];
  float *dw = base + v[4], *db = base + v[5];
  for (int64_t c = 0; c < C; c++) dw[c] = db[c] = 0.0f;
  for (int64_t r = 0; r < R; r++) {
    const float *x = base + v[0] + r * C, *dy = base + v[2] + r * C;
    float *dx = base + v[3] + r * C;
    float m, rstd;
    row_stats(x, C, &m, &rstd);
    /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w; dw += dy * xhat; db += dy */
    double mg = 0, mgx = 0;
    for (int64_t c = 0; c < C; c++) {
      float xh = (x[c] - m) * rstd, g = dy[c] * w[c];
      mg += g;
      mgx += g * xh;
      dw[c] += dy[c] * xh;
      db[c] += dy[c];
    }
    float fmg = (float)(mg / (double)C), fmgx = (float)(mgx / (double)C);
    for (int64_t c = 0; c < C; c++) {
      float xh = (x[c] - m) * rstd;
      dx[c] = rstd * (dy[c] * w[c] - fmg - xh * fmgx);
    }
  }
  return NULL;
}

static napi_value cached_attention(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  float *base;
  int64_t v[12];
  int64_t total = read_args(env, info, "cachedAttention", 12, 0, argv, &base, v);
  if (total < 0) return NULL;
  NEED(sgemv, "cachedAttention: load() has not opened a BLAS library with cblas_sgemv");
  int64_t q = v[0], k1 = v[1], v1 = v[2], n1 = v[3], k2 = v[4], v2 = v[5], n2 = v[6], bias = v[7], out = v[8];
  int64_t B = v[9], H = v[10], hd = v[11], BH = B * H, Tk = n1 + n2;
  NEED(B >= 1 && H >= 1 && hd >= 1 && n1 >= 1 && n2 >= 0, "cachedAttention: sizes must be positive");
  NEED(in_bounds(q, 0, 1, BH * hd, total) && in_bounds(k1, 0, 1, BH * n1 * hd, total) &&
           in_bounds(v1, 0, 1, BH * n1 * hd, total) && in_bounds(bias, 0, 1, B * Tk, total) &&
           in_bounds(out, 0, 1, BH * hd, total) &&
           (n2 == 0 || (in_bounds(k2, 0, 1, BH * n2 * hd, total) && in_bounds(v2, 0, 1, BH * n2 * hd, total))),
       "cachedAttention: an operand lies outside the buffer");
  float *p = (float *)malloc((size_t)Tk * sizeof(float));
  if (!p) return throw_error(env, "cachedAttention: out of memory");
  for (int64_t r = 0; r < BH; r++) {
    const float *qr = base + q + r * hd, *br = base + bias + (r / H) * Tk;
    float *y = base + out + r * hd;
    sgemv(ROW_MAJOR, NO_TRANS, (int)n1, (int)hd, 1.0f, base + k1 + r * n1 * hd, (int)hd, qr, 1, 0.0f, p, 1);
    if (n2 > 0)
      sgemv(ROW_MAJOR, NO_TRANS, (int)n2, (int)hd, 1.0f, base + k2 + r * n2 * hd, (int)hd, qr, 1, 0.0f, p + n1, 1);
    float mx = -INFINITY;
    for (int64_t j = 0; j < Tk; j++) {
      p[j] += br[j];
      mx = p[j] > mx ? p[j] : mx;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < Tk; j++) {
      p[j] = expf(p[j] - mx);
      sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < Tk; j++) p[j] *= inv;
    sgemv(ROW_MAJOR, TRANS, (int)n1, (int)hd, 1.0f, base + v1 + r * n1 * hd, (int)hd, p, 1, 0.0f, y, 1);
    if (n2 > 0)
      sgemv(ROW_MAJOR, TRANS, (int)n2, (int)hd, 1.0f, base + v2 + r * n2 * hd, (int)hd, p + n1, 1, 1.0f, y, 1);
  }
  free(p);
  return NULL;
}

#define GELU_A 1.5957691216057308f /* 2 sqrt(2/pi) */
#define GELU_B (GELU_A * 0.044715f)

static napi_value gelu(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  float *base;
  int64_t v[3];
  int64_t total = read_args(env, info, "gelu", 3, 0, argv, &base, v);
  if (total < 0) return NULL;
  int64_t n = v[2];
  NEED(n >= 0 && in_bounds(v[0], 0, 1, n, total) && in_bounds(v[1], 0, 1, n, total),
       "gelu: an operand lies outside the buffer");
  const float *x = base + v[0];
  float *y = base + v[1];
  for (int64_t i = 0; i < n; i++) {
    float z = x[i] * (GELU_A + GELU_B * x[i] * x[i]);
    y[i] = x[i] / (1.0f + expf(-z));
  }
  return NULL;
}

static napi_value gelu_grad(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  float *base;
  int64_t v[4];
  int64_t total = read_args(env, info, "geluGrad", 4, 0, argv, &base, v);
  if (total < 0) return NULL;
  int64_t n = v[3];
  NEED(n >= 0 && in_bounds(v[0], 0, 1, n, total) && in_bounds(v[1], 0, 1, n, total) && in_bounds(v[2], 0, 1, n, total),
       "geluGrad: an operand lies outside the buffer");
  const float *x = base + v[0], *dy = base + v[1];
  float *dx = base + v[2];
  for (int64_t i = 0; i < n; i++) {
    float sq = x[i] * x[i];
    float s = 1.0f / (1.0f + expf(-x[i] * (GELU_A + GELU_B * sq)));
    float dz = GELU_A + 3.0f * GELU_B * sq;
    dx[i] = dy[i] * (s + s * (1.0f - s) * x[i] * dz);
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads_js, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"attention", NULL, attention, NULL, NULL, NULL, napi_default, NULL},
      {"attentionGrad", NULL, attention_grad, NULL, NULL, NULL, napi_default, NULL},
      {"cachedAttention", NULL, cached_attention, NULL, NULL, NULL, napi_default, NULL},
      {"layerNorm", NULL, layer_norm, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormGrad", NULL, layer_norm_grad, NULL, NULL, NULL, napi_default, NULL},
      {"gelu", NULL, gelu, NULL, NULL, NULL, napi_default, NULL},
      {"geluGrad", NULL, gelu_grad, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
