/*
 * The native kernel set for the tfjs wasm backend (BCR_KERNELS=native, src/engine/native-kernels.ts):
 * a Node-API addon whose functions read and write float32 arrays in place inside an ArrayBuffer,
 * the wasm backend's heap, so a tfjs kernel can run at native speed without copying its operands
 * out of wasm. Offsets and strides are in float32 elements (so every operand is as aligned as the
 * buffer itself, which is checked to be 4-byte aligned).
 *
 * Nothing an argument says is trusted (issue 28): every entry point reads its arguments through
 * one reader (begin, arg_int, arg_float, arg_pads below) before it touches memory. It checks the
 * argument count, that the heap is a live ArrayBuffer (not a typed array, not detached), that
 * every offset and size is a number that is a finite non-negative integer below 2^53 (so NaN,
 * 0.5, -1, Infinity, 2**63, strings and BigInts are refused, never truncated, clamped or taken
 * as 0) and within the kernel's own range (BLAS ints, flags 0 or 1), computes every extent
 * (offset + (batch-1)*stride + span) and every product of sizes in overflow-checked 64-bit
 * arithmetic, checks each operand's extent against the heap, each pad index against T, and each
 * scratch allocation against MAX_SCRATCH_BYTES. A bad argument throws a TypeError (wrong type or
 * count) or a RangeError (a value out of range) whose message starts with the kernel and names
 * the argument; the kernel then has done nothing. tests/engine/native-hostile.test.ts runs a
 * table of hostile calls, each in its own process.
 *
 * OpenBLAS is opened with dlopen at load time rather than linked, so building needs no -dev
 * package (only gcc and the Node-API headers) and a machine without libopenblas gets a clear
 * error from load() instead of a module that fails to import.
 *
 * Exports:
 *   load(path) -> string                 opens the library; returns its config string
 *   setThreads(n)                        openblas_set_num_threads (process-wide), 1 <= n <= 1024
 *   blasInfo() -> object                 what load() opened: { requested, path, realPath, config,
 *                                        corename, threads, parallel, coretypeEnv } (null where the
 *                                        library lacks the symbol)
 *   gemm(buffer, batch, m, n, k, transA, transB,
 *        aOffset, aStride, bOffset, bStride, cOffset, cStride, beta)
 *     For i < batch: C_i = op(A_i) @ op(B_i) + beta * C_i, row-major. A stride of 0 broadcasts
 *     A or B over the batch; C's stride must be at least m*n when batch > 1 (outputs must not
 *     overlap, which also bounds the work by the heap's size). transA, transB: 0 or 1.
 *   attention(buffer, qkvOffset, outOffset, B, T, H, hd, pads)            forward
 *   attentionGrad(buffer, qkvOffset, dyOffset, outOffset, B, T, H, hd, pads) backward
 *     Causal multi-head self-attention straight from the c_attn output qkv [B*T, 3C] (q, k, v
 *     side by side, C = H*hd) to y [B*T, C], and its gradient dqkv [B*T, 3C] from dy [B*T, C].
 *     Each (sequence, head) reads its q, k and v in place through sgemm's leading dimension
 *     (3C), so nothing is cut out or copied; the [T, T] probabilities live in a scratch buffer
 *     and are recomputed in the backward pass rather than stored. pads (Int32Array of B, or
 *     null) hides the first pads[b] key columns of sequence b, exactly as the additive -1e9
 *     mask of the tfjs paths does (including its rows for the pad queries themselves);
 *     0 <= pads[b] <= T, checked entry by entry (and copied before use).
 *   cachedAttention(buffer, q, k1, v1, n1, k2, v2, n2, bias, out, B, H, hd)
 *     One decoding step against the KV cache: for each of the B*H rows, softmax(q . keys + bias)
 *     over the old block (k1, v1: [B*H, n1, hd]) then the recent one (k2, v2: n2 positions, n2 may
 *     be 0), times the values; q [B*H, hd] already scaled; bias [B, n1 + n2] (per sequence, shared
 *     by its heads). No gradient: generation only.
 *   layerNorm(buffer, x, w, b, y, R, C)                 y = (x - mean) * rstd * w + b per row
 *   layerNormGrad(buffer, x, w, dy, dx, dw, db, R, C)   its gradient (mean, rstd recomputed)
 *   gelu(buffer, x, y, n) / geluGrad(buffer, x, dy, dx, n)
 *     GELU, tanh approximation, as x * sigmoid(z), z = x (A + B x^2) (src/model/gpt.ts)
 *   setVectorExp(on) -> bool            GELU, its gradient and the softmaxes take expf 8 at a time,
 *                                        the same bits as glibc's expf (checked: see vexp4); returns
 *                                        whether they do. expfAgreement(lo, hi, stride) -> number
 *                                        counts the floats where the two differ (0 here).
 *   setAttentionBlocks(R) -> number / attentionBlocksAgree(T, H, hd) -> bool
 *     attention and attentionGrad skip the causal square's upper part in blocks of R rows where a
 *     check at each T shows the same bits as the whole square (see attention_blocks)
 *   decodeStep(buffer, plan, pads, scale, neg)
 *     A whole cached decoding step of the GPT, every layer to the logits, on a buffer holding the
 *     weights and a preallocated KV cache (plan: the offsets of each); bit-identical to running
 *     the step kernel by kernel with this set (the comment above decode_step says how).
 *   lookupRows(buffer, table, R, C, ids, out)
 *     out[i] = table[ids[i]] (rows of C floats): an embedding lookup by ids known on the host
 *     (src/model/lookup.ts); ids an Int32Array, each in [0, R), checked and copied.
 *   lookupRowsGrad(buffer, dy, ids, out, R, C)
 *     its gradient: out [R, C] = 0, then out[ids[i]] += dy[i] for i = 0, 1, ... in order, each
 *     sum rounded to float32, as lookup.ts's host loop into a Float32Array adds.
 *   sumSquares(buffer, x, n) -> number
 *     sum of x[i]^2, accumulated in float32 from 0 in index order, exactly as the wasm backend's
 *     tf.sum(tf.square(x)) (its Sum kernel is a plain sequential float loop): the global norm of
 *     src/train/optim.ts's clipping, bit for bit.
 *   adamw(buffer, p, m, v, g, n, decay, coefs)
 *     One AdamW step of one parameter, in place: p, m, v updated from g, with coefs a Float32Array
 *     [clip, b1, 1-b1, b2, 1-b2, lr/bc1, sqrt(bc2), eps, 1-lr*wd] (float32, as tf.scalar rounds
 *     them), decay 0 or 1. The same float32 operations in the same order as optim.ts's tfjs ops,
 *     each rounded to float32 and none fused into an FMA, so the results are the same bits.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <node_api.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
static void forget_attention_checks(void);
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef int (*get_int_fn)(void);
typedef char *(*config_fn)(void);

static sgemm_fn sgemm = NULL;
static sgemv_fn sgemv = NULL;
static set_threads_fn set_threads = NULL;
static get_int_fn get_threads = NULL, get_parallel = NULL;
static config_fn get_config = NULL, get_corename = NULL;
static char blas_requested[4096];

/* Every integer argument is below 2^53: every such double is an exact integer. */
#define EXACT_LIMIT 9007199254740992.0 /* 2^53 */
#define U53 ((uint64_t)1 << 53)
/* Sizes handed to BLAS as its (32-bit) int. */
#define BLAS_INT_MAX ((uint64_t)INT32_MAX)
/* setThreads' ceiling: OpenBLAS is built for at most MAX_THREADS (64 in Debian's build) and clamps. */
#define MAX_BLAS_THREADS 1024
/*
 * Ceiling on one call's scratch allocation: attention's [T, T] probabilities (T*T floats forward,
 * 2*T*T with their gradient) and the cached step's Tk scores. The largest model the toolkit runs
 * has blockSize 768 (configs/reproduce-sections-packs8*.json), whose backward scratch is
 * 2 * 768^2 * 4 bytes = 4.5 MiB; 1 GiB is over 200 times that (T up to 16384 forward, 11585
 * backward) and small enough that a hostile T cannot exhaust the machine's memory.
 */
#define MAX_SCRATCH_BYTES ((uint64_t)1 << 30)
#define MAX_ARGS 14

/* ---- the one argument reader ---- */

/* One call: the kernel's name (the first word of every message), its arguments and its heap. */
typedef struct {
  napi_env env;
  const char *who;
  size_t argc;
  napi_value argv[MAX_ARGS];
  float *base;    /* the heap's first float (NULL for an empty heap) */
  uint64_t total; /* the heap's size in floats */
} call_t;

static bool throw_fmt(call_t *c, bool range, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool throw_fmt(call_t *c, bool range, const char *fmt, ...) {
  char what[384], msg[448];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(msg, sizeof msg, "%s: %s", c->who, what);
  if (range)
    napi_throw_range_error(c->env, "ERR_OUT_OF_RANGE", msg);
  else
    napi_throw_type_error(c->env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}
#define RANGE_ERROR(c, ...) throw_fmt(c, true, __VA_ARGS__)
#define TYPE_ERROR(c, ...) throw_fmt(c, false, __VA_ARGS__)

static void format_number(double x, char *out, size_t n) {
  if (isnan(x))
    snprintf(out, n, "NaN");
  else if (isinf(x))
    snprintf(out, n, x > 0 ? "Infinity" : "-Infinity");
  else {
    snprintf(out, n, "%.15g", x);
    if (strtod(out, NULL) != x) snprintf(out, n, "%.17g", x);
  }
}

/* A short description of a value for messages: the number itself, else its kind. */
static void describe(napi_env env, napi_value v, char *out, size_t n) {
  napi_valuetype t;
  bool is = false;
  double x;
  if (napi_typeof(env, v, &t) != napi_ok) {
    snprintf(out, n, "an unreadable value");
    return;
  }
  switch (t) {
    case napi_number:
      if (napi_get_value_double(env, v, &x) == napi_ok) format_number(x, out, n);
      else snprintf(out, n, "a number");
      return;
    case napi_undefined: snprintf(out, n, "undefined"); return;
    case napi_null: snprintf(out, n, "null"); return;
    case napi_boolean: snprintf(out, n, "a boolean"); return;
    case napi_string: snprintf(out, n, "a string"); return;
    case napi_symbol: snprintf(out, n, "a symbol"); return;
    case napi_bigint: snprintf(out, n, "a BigInt"); return;
    case napi_function: snprintf(out, n, "a function"); return;
    case napi_external: snprintf(out, n, "an external"); return;
    case napi_object: break;
  }
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t len;
    static const char *names[] = {"Int8Array",    "Uint8Array",   "Uint8ClampedArray", "Int16Array",
                                  "Uint16Array",  "Int32Array",   "Uint32Array",       "Float32Array",
                                  "Float64Array", "BigInt64Array", "BigUint64Array"};
    if (napi_get_typedarray_info(env, v, &type, &len, NULL, NULL, NULL) == napi_ok &&
        (size_t)type < sizeof names / sizeof names[0])
      snprintf(out, n, "a %s of %zu", names[type], len);
    else
      snprintf(out, n, "a typed array");
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is)
    snprintf(out, n, "a DataView");
  else if (napi_is_array(env, v, &is) == napi_ok && is)
    snprintf(out, n, "an Array");
  else if (napi_is_arraybuffer(env, v, &is) == napi_ok && is)
    snprintf(out, n, "an ArrayBuffer");
  else
    snprintf(out, n, "an object");
}

static bool take_heap(call_t *c);
static bool value_int(call_t *c, napi_value v, const char *name, uint64_t lo, uint64_t hi, uint64_t *out);

/*
 * Starts a call: exactly `expected` arguments, and when `heap`, the first is the heap: a live,
 * 4-byte aligned ArrayBuffer (not a typed array, not a SharedArrayBuffer, not detached).
 */
static bool begin(call_t *c, napi_env env, napi_callback_info info, const char *who, size_t expected, bool heap) {
  c->env = env;
  c->who = who;
  c->argc = MAX_ARGS;
  c->base = NULL;
  c->total = 0;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "native kernels: napi_get_cb_info failed");
    return false;
  }
  if (c->argc != expected)
    return TYPE_ERROR(c, "expects %zu argument%s, got %zu", expected, expected == 1 ? "" : "s", c->argc);
  return heap ? take_heap(c) : true;
}

/*
 * The heap, argument 0: a live, 4-byte aligned ArrayBuffer. Taken last by an entry point that
 * reads objects (whose getters run JavaScript, which could detach or replace the buffer).
 */
static bool take_heap(call_t *c) {
  bool is_ab = false, detached = false;
  void *data = NULL;
  size_t bytes = 0;
  char got[96];
  if (napi_is_arraybuffer(c->env, c->argv[0], &is_ab) != napi_ok || !is_ab) {
    describe(c->env, c->argv[0], got, sizeof got);
    return TYPE_ERROR(c, "argument 'heap' must be an ArrayBuffer (the wasm heap), got %s", got);
  }
  if (napi_is_detached_arraybuffer(c->env, c->argv[0], &detached) != napi_ok || detached)
    return TYPE_ERROR(c, "argument 'heap' is a detached ArrayBuffer");
  if (napi_get_arraybuffer_info(c->env, c->argv[0], &data, &bytes) != napi_ok)
    return TYPE_ERROR(c, "argument 'heap': its ArrayBuffer cannot be read");
  if ((uintptr_t)data % sizeof(float) != 0)
    return RANGE_ERROR(c, "argument 'heap' is not %zu-byte aligned", sizeof(float));
  c->base = bytes >= sizeof(float) ? (float *)data : NULL;
  c->total = c->base ? bytes / sizeof(float) : 0;
  return true;
}

/*
 * Argument i as an integer in [lo, hi]: a number (typeof), finite, integral and 0 <= x < 2^53,
 * never truncated, clamped or defaulted.
 */
static bool arg_int(call_t *c, size_t i, const char *name, uint64_t lo, uint64_t hi, uint64_t *out) {
  return value_int(c, c->argv[i], name, lo, hi, out);
}

/* A value (an argument, or a field of one) as an integer in [lo, hi], as arg_int. */
static bool value_int(call_t *c, napi_value v, const char *name, uint64_t lo, uint64_t hi, uint64_t *out) {
  napi_valuetype t;
  double x = 0;
  char got[96];
  describe(c->env, v, got, sizeof got);
  if (napi_typeof(c->env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(c->env, v, &x) != napi_ok)
    return TYPE_ERROR(c, "argument '%s' must be a number, got %s", name, got);
  if (!isfinite(x) || x != floor(x) || !(x >= 0) || !(x < EXACT_LIMIT))
    return RANGE_ERROR(c, "argument '%s' must be a non-negative integer below 2^53, got %s", name, got);
  uint64_t u = (uint64_t)x;
  if (u < lo || u > hi) {
    if (hi >= U53)
      return RANGE_ERROR(c, "argument '%s' must be at least %llu, got %s", name, (unsigned long long)lo, got);
    return RANGE_ERROR(c, "argument '%s' must be between %llu and %llu, got %s", name, (unsigned long long)lo,
                       (unsigned long long)hi, got);
  }
  *out = u;
  return true;
}

/* Argument i as a finite number. */
static bool arg_float(call_t *c, size_t i, const char *name, double *out) {
  napi_valuetype t;
  char got[96];
  describe(c->env, c->argv[i], got, sizeof got);
  if (napi_typeof(c->env, c->argv[i], &t) != napi_ok || t != napi_number ||
      napi_get_value_double(c->env, c->argv[i], out) != napi_ok)
    return TYPE_ERROR(c, "argument '%s' must be a number, got %s", name, got);
  if (!isfinite(*out)) return RANGE_ERROR(c, "argument '%s' must be finite, got %s", name, got);
  return true;
}

/* *out = a * b, or a RangeError naming the product when it overflows 64 bits. */
static bool mul(call_t *c, const char *what, uint64_t a, uint64_t b, uint64_t *out) {
  if (__builtin_mul_overflow(a, b, out)) return RANGE_ERROR(c, "%s overflows 64 bits", what);
  return true;
}

static bool add(call_t *c, const char *what, uint64_t a, uint64_t b, uint64_t *out) {
  if (__builtin_add_overflow(a, b, out)) return RANGE_ERROR(c, "%s overflows 64 bits", what);
  return true;
}

/* v <= limit, or a RangeError naming what v is. */
static bool at_most(call_t *c, const char *what, uint64_t v, uint64_t limit) {
  if (v > limit)
    return RANGE_ERROR(c, "%s = %llu exceeds %llu", what, (unsigned long long)v, (unsigned long long)limit);
  return true;
}

/*
 * Operand `name` covers floats [offset, offset + (batch-1)*stride + span) of the heap (batch >= 1),
 * all of which must lie inside it; the sum is computed without overflow.
 */
static bool operand(call_t *c, const char *name, uint64_t offset, uint64_t stride, uint64_t batch, uint64_t span) {
  uint64_t reach, end;
  if (__builtin_mul_overflow(batch - 1, stride, &reach) || __builtin_add_overflow(offset, reach, &end) ||
      __builtin_add_overflow(end, span, &end))
    return RANGE_ERROR(c, "operand '%s': offset + (batch-1)*stride + span overflows 64 bits", name);
  if (end > c->total)
    return RANGE_ERROR(c, "operand '%s' ends at float %llu, outside the heap of %llu floats", name,
                       (unsigned long long)end, (unsigned long long)c->total);
  return true;
}

/* A scratch allocation of `count` floats: checked against MAX_SCRATCH_BYTES, then malloc'ed. */
static float *scratch(call_t *c, const char *what, uint64_t count) {
  uint64_t bytes;
  if (__builtin_mul_overflow(count, (uint64_t)sizeof(float), &bytes) || bytes > MAX_SCRATCH_BYTES) {
    RANGE_ERROR(c, "the %s scratch would take %llu floats (%.3g GiB), above the cap of %llu bytes (MAX_SCRATCH_BYTES)",
                what, (unsigned long long)count, (double)count * sizeof(float) / (1 << 30),
                (unsigned long long)MAX_SCRATCH_BYTES);
    return NULL;
  }
  float *p = (float *)malloc(bytes ? (size_t)bytes : 1);
  if (!p) napi_throw_error(c->env, NULL, "native kernels: out of memory for the scratch buffer");
  return p;
}

static bool need_blas(call_t *c, bool gemv) {
  if (!sgemm || (gemv && !sgemv)) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: load() has not opened a BLAS library%s", c->who, gemv ? " with cblas_sgemv" : "");
    napi_throw_error(c->env, "ERR_BCR_NO_BLAS", msg);
    return false;
  }
  return true;
}

/* ---- the library ---- */

static napi_value load(napi_env env, napi_callback_info info) {
  call_t c;
  char path[sizeof blas_requested];
  size_t len = 0;
  napi_valuetype t;
  if (!begin(&c, env, info, "load", 1, false)) return NULL;
  if (napi_typeof(env, c.argv[0], &t) != napi_ok || t != napi_string) {
    char got[96];
    describe(env, c.argv[0], got, sizeof got);
    TYPE_ERROR(&c, "argument 'path' must be a string, got %s", got);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, c.argv[0], path, sizeof path, &len) != napi_ok) {
    TYPE_ERROR(&c, "argument 'path' cannot be read as UTF-8");
    return NULL;
  }
  if (len == 0 || len >= sizeof path - 1 || strlen(path) != len) {
    RANGE_ERROR(&c, "argument 'path' must be non-empty, shorter than %zu bytes and free of NUL characters",
                sizeof path - 1);
    return NULL;
  }
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    napi_throw_error(env, NULL, why ? why : "dlopen failed");
    return NULL;
  }
  sgemm_fn f = (sgemm_fn)dlsym(lib, "cblas_sgemm");
  if (!f) {
    napi_throw_error(env, NULL, "the library has no cblas_sgemm");
    return NULL;
  }
  sgemm = f;
  sgemv = (sgemv_fn)dlsym(lib, "cblas_sgemv");
  set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
  get_threads = (get_int_fn)dlsym(lib, "openblas_get_num_threads");
  get_parallel = (get_int_fn)dlsym(lib, "openblas_get_parallel");
  get_config = (config_fn)dlsym(lib, "openblas_get_config");
  get_corename = (config_fn)dlsym(lib, "openblas_get_corename");
  memcpy(blas_requested, path, len + 1);
  napi_value out;
  if (napi_create_string_utf8(env, get_config ? get_config() : "cblas", NAPI_AUTO_LENGTH, &out) != napi_ok) return NULL;
  return out;
}

static napi_value set_threads_js(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t n;
  if (!begin(&c, env, info, "setThreads", 1, false) || !arg_int(&c, 0, "n", 1, MAX_BLAS_THREADS, &n)) return NULL;
  if (set_threads) set_threads((int)n);
  forget_attention_checks(); /* the threads split the products differently: check each T again */
  return NULL;
}

/* Sets obj[key] to a string, or null when s is NULL. */
static bool set_string(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v;
  if ((s ? napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) : napi_get_null(env, &v)) != napi_ok) return false;
  return napi_set_named_property(env, obj, key, v) == napi_ok;
}

/*
 * What load() opened, for `bcr info` and backend.json: the path asked for, the file the loader
 * resolved it to (dladdr of cblas_sgemm) and its real path (symlinks and Debian's alternatives
 * followed: the file name carries OpenBLAS's version), openblas_get_config (version and build
 * options), openblas_get_corename (the core kernels in use, which OPENBLAS_CORETYPE overrides),
 * openblas_get_num_threads, openblas_get_parallel (sequential, pthreads or openmp). Null where
 * the library lacks the symbol.
 */
static napi_value blas_info(napi_env env, napi_callback_info info) {
  call_t c;
  if (!begin(&c, env, info, "blasInfo", 0, false) || !need_blas(&c, false)) return NULL;
  Dl_info dl;
  union {
    sgemm_fn f;
    void *p;
  } sym = {.f = sgemm};
  const char *file = dladdr(sym.p, &dl) && dl.dli_fname ? dl.dli_fname : NULL;
  char *real = file ? realpath(file, NULL) : NULL;
  napi_value obj, v;
  bool ok = napi_create_object(env, &obj) == napi_ok && set_string(env, obj, "requested", blas_requested) &&
            set_string(env, obj, "path", file) && set_string(env, obj, "realPath", real) &&
            set_string(env, obj, "config", get_config ? get_config() : NULL) &&
            set_string(env, obj, "corename", get_corename ? get_corename() : NULL);
  free(real);
  if (ok) {
    ok = (get_threads ? napi_create_int32(env, get_threads(), &v) : napi_get_null(env, &v)) == napi_ok &&
         napi_set_named_property(env, obj, "threads", v) == napi_ok;
  }
  if (ok) {
    const char *kind = NULL;
    int p = get_parallel ? get_parallel() : -1;
    kind = p == 0 ? "sequential" : p == 1 ? "pthreads" : p == 2 ? "openmp" : NULL;
    ok = set_string(env, obj, "parallel", kind) && set_string(env, obj, "coretypeEnv", getenv("OPENBLAS_CORETYPE"));
  }
  if (!ok) {
    napi_throw_error(env, NULL, "blasInfo: Node-API call failed");
    return NULL;
  }
  return obj;
}

/* ---- products ---- */

/*
 * C = op(A) @ op(B) + beta * C for one row-major product, as every product of the kernel set runs
 * (gemm, and each linear layer and the head of decodeStep, which must match it bit for bit).
 */
static void product(int m, int n, int k, bool trans_a, bool trans_b, const float *a, const float *b, float beta,
                    float *c) {
  if (m == 1 && sgemv) {
    /* One row (a cached decoding step): a matrix-vector product, without sgemm's packing. The
       row is contiguous whether or not A is transposed. */
    if (trans_b) /* B is [n, k]: c = B a */
      sgemv(ROW_MAJOR, NO_TRANS, n, k, 1.0f, b, k, a, 1, beta, c, 1);
    else /* B is [k, n]: c = B^T a */
      sgemv(ROW_MAJOR, TRANS, k, n, 1.0f, b, n, a, 1, beta, c, 1);
    return;
  }
  sgemm(ROW_MAJOR, trans_a ? TRANS : NO_TRANS, trans_b ? TRANS : NO_TRANS, m, n, k, 1.0f, a, trans_a ? m : k, b,
        trans_b ? k : n, beta, c, n);
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t batch, m, n, k, ta, tb, a_off, a_stride, b_off, b_stride, c_off, c_stride, mk, kn, mn;
  double beta;
  if (!begin(&c, env, info, "gemm", 14, true) || !arg_int(&c, 1, "batch", 1, U53, &batch) ||
      !arg_int(&c, 2, "m", 1, BLAS_INT_MAX, &m) || !arg_int(&c, 3, "n", 1, BLAS_INT_MAX, &n) ||
      !arg_int(&c, 4, "k", 1, BLAS_INT_MAX, &k) || !arg_int(&c, 5, "transA", 0, 1, &ta) ||
      !arg_int(&c, 6, "transB", 0, 1, &tb) || !arg_int(&c, 7, "aOffset", 0, U53, &a_off) ||
      !arg_int(&c, 8, "aStride", 0, U53, &a_stride) || !arg_int(&c, 9, "bOffset", 0, U53, &b_off) ||
      !arg_int(&c, 10, "bStride", 0, U53, &b_stride) || !arg_int(&c, 11, "cOffset", 0, U53, &c_off) ||
      !arg_int(&c, 12, "cStride", 0, U53, &c_stride) || !arg_float(&c, 13, "beta", &beta) ||
      !mul(&c, "m*k", m, k, &mk) || !mul(&c, "k*n", k, n, &kn) || !mul(&c, "m*n", m, n, &mn))
    return NULL;
  if (batch > 1 && c_stride < mn) {
    RANGE_ERROR(&c, "argument 'cStride' (%llu) must be at least m*n = %llu when batch > 1: outputs may not overlap",
                (unsigned long long)c_stride, (unsigned long long)mn);
    return NULL;
  }
  if (!operand(&c, "a", a_off, a_stride, batch, mk) || !operand(&c, "b", b_off, b_stride, batch, kn) ||
      !operand(&c, "c", c_off, c_stride, batch, mn) || !need_blas(&c, false))
    return NULL;
  float *base = c.base;
  for (uint64_t i = 0; i < batch; i++)
    product((int)m, (int)n, (int)k, ta != 0, tb != 0, base + a_off + i * a_stride, base + b_off + i * b_stride,
            (float)beta, base + c_off + i * c_stride);
  return NULL;
}

/* ---- causal self-attention ---- */

/* Arguments shared by the two attention entry points, read and checked. */
typedef struct {
  float *base;
  int64_t qkv, dy, out;
  int64_t B, T, H, hd;
  int32_t *pads; /* a checked copy (B entries, 0 <= pads[b] <= T), or NULL; free() it */
  float *p;      /* the scratch: T*T floats, or 2*T*T with the gradient; free() it */
} attn_args;

/*
 * The pads argument: null/undefined, or an Int32Array of exactly B entries each in [0, T],
 * copied (so the kernel's own writes to the heap cannot change it underneath).
 */
static bool arg_pads(call_t *c, size_t i, uint64_t B, uint64_t T, int32_t **out) {
  napi_valuetype t;
  char got[96];
  *out = NULL;
  if (napi_typeof(c->env, c->argv[i], &t) != napi_ok) return TYPE_ERROR(c, "argument 'pads' cannot be read");
  if (t == napi_null || t == napi_undefined) return true;
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  describe(c->env, c->argv[i], got, sizeof got);
  if (napi_is_typedarray(c->env, c->argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array)
    return TYPE_ERROR(c, "argument 'pads' must be null or an Int32Array, got %s", got);
  if ((uint64_t)length != B)
    return RANGE_ERROR(c, "argument 'pads' must have B = %llu entries, got %zu", (unsigned long long)B, length);
  int32_t *copy = (int32_t *)malloc(length * sizeof(int32_t));
  if (!copy) {
    napi_throw_error(c->env, NULL, "native kernels: out of memory for pads");
    return false;
  }
  memcpy(copy, data, length * sizeof(int32_t));
  for (size_t b = 0; b < length; b++) {
    if (copy[b] < 0 || (uint64_t)copy[b] > T) {
      int32_t bad = copy[b];
      free(copy);
      return RANGE_ERROR(c, "pads[%zu] must be between 0 and T = %llu, got %d", b, (unsigned long long)T, (int)bad);
    }
  }
  *out = copy;
  return true;
}

static bool read_attention_args(napi_env env, napi_callback_info info, bool with_dy, attn_args *a) {
  call_t c;
  const char *who = with_dy ? "attentionGrad" : "attention";
  uint64_t qkv, dy = 0, out, B, T, H, hd, C, ld, rows, span_qkv, span_c, span_out, tt, cells;
  size_t i = 1;
  a->pads = NULL;
  a->p = NULL;
  if (!begin(&c, env, info, who, with_dy ? 9 : 8, true) || !arg_int(&c, i++, "qkvOffset", 0, U53, &qkv) ||
      (with_dy && !arg_int(&c, i++, "dyOffset", 0, U53, &dy)) || !arg_int(&c, i++, "outOffset", 0, U53, &out) ||
      !arg_int(&c, i++, "B", 1, U53, &B) || !arg_int(&c, i++, "T", 1, BLAS_INT_MAX, &T) ||
      !arg_int(&c, i++, "H", 1, BLAS_INT_MAX, &H) || !arg_int(&c, i++, "hd", 1, BLAS_INT_MAX, &hd) ||
      !mul(&c, "H*hd", H, hd, &C) || !mul(&c, "3*H*hd", 3, C, &ld) ||
      !at_most(&c, "3*H*hd (qkv's row length, a BLAS int)", ld, BLAS_INT_MAX) || !mul(&c, "B*T", B, T, &rows) ||
      !mul(&c, "B*T*3*H*hd", rows, ld, &span_qkv) || !mul(&c, "B*T*H*hd", rows, C, &span_c))
    return false;
  span_out = with_dy ? span_qkv : span_c;
  if (!operand(&c, "qkv", qkv, 0, 1, span_qkv) || (with_dy && !operand(&c, "dy", dy, 0, 1, span_c)) ||
      !operand(&c, "out", out, 0, 1, span_out) || !mul(&c, "T*T", T, T, &tt) ||
      !mul(&c, "the scratch", tt, with_dy ? 2 : 1, &cells) || !need_blas(&c, false) ||
      !arg_pads(&c, i, B, T, &a->pads))
    return false;
  a->p = scratch(&c, with_dy ? "[2, T, T]" : "[T, T]", cells);
  if (!a->p) {
    free(a->pads);
    return false;
  }
  a->base = c.base;
  a->qkv = (int64_t)qkv;
  a->dy = (int64_t)dy;
  a->out = (int64_t)out;
  a->B = (int64_t)B;
  a->T = (int64_t)T;
  a->H = (int64_t)H;
  a->hd = (int64_t)hd;
  return true;
}

/* x[j] = expf(x[j] - mx) for j < n (GELU section: the vector expf where it agrees) */
static void exp_minus(float *x, int64_t n, float mx);

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
      exp_minus(row + lo, i + 1 - lo, mx);
      for (int64_t j = lo; j <= i; j++) sum += row[j];
      float inv = 1.0f / sum;
      for (int64_t j = lo; j <= i; j++) row[j] *= inv;
    }
    for (int64_t j = 0; j < lo; j++) row[j] = 0.0f;
    for (int64_t j = i + 1; j < T; j++) row[j] = 0.0f;
  }
}

/*
 * One (sequence, head) of the forward pass over the whole [T, T] square: y = P v. The reference
 * the causal blocks below must reproduce bit for bit, and the path for sequences with pads.
 */
static void attention_full(const float *q, int64_t ld, int64_t T, int64_t hd, int64_t C, float scale, int64_t pad,
                           float *p, float *y) {
  probabilities(q, q + C, ld, T, hd, scale, pad, p);
  sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)T, (int)hd, (int)T, 1.0f, p, (int)T, q + 2 * C, (int)ld, 0.0f, y, (int)C);
}

/*
 * Softmax backward, in place in dp: dS = P * (dP - rowsum(P * dP)). Whole rows where pads may be
 * (a pad query's row has weight beyond i, see probabilities); with `causal` (no pads), over
 * j <= i with exact zeros beyond, where P is zero: the causal blocks' form.
 */
static void softmax_backward(const float *p, float *dp, int64_t T, bool causal) {
  for (int64_t i = 0; i < T; i++) {
    const float *pr = p + i * T;
    float *dr = dp + i * T;
    int64_t end = causal ? i + 1 : T;
    float dot = 0.0f;
    for (int64_t j = 0; j < end; j++) dot += pr[j] * dr[j];
    for (int64_t j = 0; j < end; j++) dr[j] = pr[j] * (dr[j] - dot);
    for (int64_t j = end; j < T; j++) dr[j] = 0.0f;
  }
}

/* Its gradient: dq, dk, dv (at dq, dq + C, dq + 2C, leading dimension ld) from dy. */
static void attention_grad_full(const float *q, const float *dy, float *dq, int64_t ld, int64_t T, int64_t hd,
                                int64_t C, float scale, int64_t pad, float *p, float *dp) {
  const float *k = q + C, *v = q + 2 * C;
  float *dk = dq + C, *dv = dq + 2 * C;
  probabilities(q, k, ld, T, hd, scale, pad, p);
  /* dv = P^T dy;  dP = dy v^T */
  sgemm(ROW_MAJOR, TRANS, NO_TRANS, (int)T, (int)hd, (int)T, 1.0f, p, (int)T, dy, (int)C, 0.0f, dv, (int)ld);
  sgemm(ROW_MAJOR, NO_TRANS, TRANS, (int)T, (int)T, (int)hd, 1.0f, dy, (int)C, v, (int)ld, 0.0f, dp, (int)T);
  softmax_backward(p, dp, T, false);
  /* dq = scale * dS k;  dk = scale * dS^T q */
  sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)T, (int)hd, (int)T, scale, dp, (int)T, k, (int)ld, 0.0f, dq, (int)ld);
  sgemm(ROW_MAJOR, TRANS, NO_TRANS, (int)T, (int)hd, (int)T, scale, dp, (int)T, q, (int)ld, 0.0f, dk, (int)ld);
}

/*
 * Causal blocks (issue 31): without pads, query row i sees keys 0..i only, so the products that
 * sum over keys or queries need only the square's lower triangle. Rows go in blocks of R: query
 * block [i0, i1) takes y and dq from keys [0, i1), and key block [i0, i1) takes dv and dk from
 * queries [i0, T). The scores, P, dP and dS are still computed over the whole square: cutting
 * q k^T or dy v^T at the diagonal changes their bits on OpenBLAS 0.3.21 (its key tiles round
 * differently with the call's shape), which the check below would refuse at every T. Everything
 * left out is a product with an exact zero of P or dS, and the sums that kept them only added
 * +0 before or after their nonzero terms, so each kept entry can come out with the same bits,
 * provided the BLAS rounds an entry the same way whatever the shape of the call around it (the
 * same micro-kernel tiles, the same order over k). That is the library's business, not ours, so
 * it is checked rather than assumed: the first call at a T runs a random problem of that T both
 * ways (attention_blocks_agree) and uses the blocks only where every output bit agrees; otherwise
 * that T keeps the whole square. setAttentionBlocks(0) turns them off (for timing both ways).
 */
static int64_t attn_block = 48;  /* R: a multiple of the sgemm tiles measured on OpenBLAS 0.3.21 (16, 24) */
#define ATTN_MAX_CHECKED_T 4096
static int8_t attn_blocks_ok[ATTN_MAX_CHECKED_T + 1]; /* per T: 0 unchecked, 1 agree, -1 differ */
static int64_t attn_checked_hd = 0, attn_checked_block = 0, attn_checked_H = 0;

static void attention_blocks(const float *q, int64_t ld, int64_t T, int64_t hd, int64_t C, float scale, int64_t R,
                             float *p, float *y) {
  probabilities(q, q + C, ld, T, hd, scale, 0, p);
  for (int64_t i0 = 0; i0 < T; i0 += R) {
    int64_t i1 = i0 + R < T ? i0 + R : T;
    sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)(i1 - i0), (int)hd, (int)i1, 1.0f, p + i0 * T, (int)T, q + 2 * C,
          (int)ld, 0.0f, y + i0 * C, (int)C);
  }
}

static void attention_grad_blocks(const float *q, const float *dy, float *dq, int64_t ld, int64_t T, int64_t hd,
                                  int64_t C, float scale, int64_t R, float *p, float *dp) {
  const float *k = q + C, *v = q + 2 * C;
  float *dk = dq + C, *dv = dq + 2 * C;
  probabilities(q, k, ld, T, hd, scale, 0, p);
  /* dP = dy v^T over the whole square (see above), then dS with the causal zeros */
  sgemm(ROW_MAJOR, NO_TRANS, TRANS, (int)T, (int)T, (int)hd, 1.0f, dy, (int)C, v, (int)ld, 0.0f, dp, (int)T);
  softmax_backward(p, dp, T, true);
  for (int64_t i0 = 0; i0 < T; i0 += R) {
    int64_t i1 = i0 + R < T ? i0 + R : T;
    /* dq of query block [i0, i1) from keys [0, i1); dv, dk of key block [i0, i1) from queries [i0, T) */
    sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, (int)(i1 - i0), (int)hd, (int)i1, scale, dp + i0 * T, (int)T, k, (int)ld,
          0.0f, dq + i0 * ld, (int)ld);
    sgemm(ROW_MAJOR, TRANS, NO_TRANS, (int)(i1 - i0), (int)hd, (int)(T - i0), 1.0f, p + i0 * T + i0, (int)T,
          dy + i0 * C, (int)C, 0.0f, dv + i0 * ld, (int)ld);
    sgemm(ROW_MAJOR, TRANS, NO_TRANS, (int)(i1 - i0), (int)hd, (int)(T - i0), scale, dp + i0 * T + i0, (int)T,
          q + i0 * ld, (int)ld, 0.0f, dk + i0 * ld, (int)ld);
  }
}

/*
 * Whether the causal blocks give the whole square's bits at this T (and H, hd): a random problem
 * of one sequence, with its last rows' dy zero as a padded batch's are, run both ways, forward
 * and backward, compared bit by bit. Cached per T; false where the scratch cannot be had.
 */
static pthread_mutex_t attn_check_lock = PTHREAD_MUTEX_INITIALIZER;

static bool attention_blocks_check(int64_t T, int64_t H, int64_t hd);

static void forget_attention_checks(void) {
  pthread_mutex_lock(&attn_check_lock);
  memset(attn_blocks_ok, 0, sizeof attn_blocks_ok);
  pthread_mutex_unlock(&attn_check_lock);
}

/* The data-parallel workers are threads of one process sharing this addon: one check at a time. */
static bool attention_blocks_agree(int64_t T, int64_t H, int64_t hd) {
  pthread_mutex_lock(&attn_check_lock);
  bool ok = attention_blocks_check(T, H, hd);
  pthread_mutex_unlock(&attn_check_lock);
  return ok;
}

static bool attention_blocks_check(int64_t T, int64_t H, int64_t hd) {
  if (attn_block <= 0 || T <= attn_block) return false;
  if (T > ATTN_MAX_CHECKED_T) return false;
  if (attn_checked_hd != hd || attn_checked_H != H || attn_checked_block != attn_block) {
    memset(attn_blocks_ok, 0, sizeof attn_blocks_ok);
    attn_checked_hd = hd;
    attn_checked_H = H;
    attn_checked_block = attn_block;
  }
  if (attn_blocks_ok[T]) return attn_blocks_ok[T] > 0;
  int64_t C = H * hd, ld = 3 * C;
  size_t n_qkv = (size_t)(T * ld), n_c = (size_t)(T * C), tt = (size_t)(T * T);
  size_t floats = n_qkv * 3 + n_c * 3 + tt * 2;
  if (floats > MAX_SCRATCH_BYTES / sizeof(float)) return false; /* a shape this big is not checked: the whole square */
  float *buf = (float *)malloc(sizeof(float) * floats);
  if (!buf) return false;
  float *qkv = buf, *dy = qkv + n_qkv, *y1 = dy + n_c, *y2 = y1 + n_c, *g1 = y2 + n_c, *g2 = g1 + n_qkv,
        *p = g2 + n_qkv, *dp = p + tt;
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < n_qkv + n_c; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    qkv[i] = ((float)(x >> 8) / 8388608.0f - 1.0f) * 2.0f;
  }
  for (size_t i = n_c - (size_t)(T / 7) * C; i < n_c; i++) dy[i] = 0.0f; /* a padded tail */
  float scale = 1.0f / sqrtf((float)hd);
  bool same = true;
  for (int64_t h = 0; h < H && same; h++) {
    const float *q = qkv + h * hd;
    attention_full(q, ld, T, hd, C, scale, 0, p, y1 + h * hd);
    attention_blocks(q, ld, T, hd, C, scale, attn_block, p, y2 + h * hd);
    attention_grad_full(q, dy + h * hd, g1 + h * hd, ld, T, hd, C, scale, 0, p, dp);
    attention_grad_blocks(q, dy + h * hd, g2 + h * hd, ld, T, hd, C, scale, attn_block, p, dp);
  }
  for (int64_t i = 0; i < T && same; i++)
    same = memcmp(y1 + i * C, y2 + i * C, sizeof(float) * C) == 0 && memcmp(g1 + i * ld, g2 + i * ld, sizeof(float) * ld) == 0;
  free(buf);
  attn_blocks_ok[T] = same ? 1 : -1;
  return same;
}

static napi_value attention(napi_env env, napi_callback_info info) {
  attn_args a;
  if (!read_attention_args(env, info, false, &a)) return NULL;
  int64_t C = a.H * a.hd, ld = 3 * C, T = a.T;
  float scale = 1.0f / sqrtf((float)a.hd);
  bool blocks = attention_blocks_agree(T, a.H, a.hd);
  for (int64_t b = 0; b < a.B; b++) {
    int64_t pad = a.pads ? a.pads[b] : 0;
    for (int64_t h = 0; h < a.H; h++) {
      const float *q = a.base + a.qkv + b * T * ld + h * a.hd;
      float *y = a.base + a.out + b * T * C + h * a.hd;
      if (blocks && pad == 0) attention_blocks(q, ld, T, a.hd, C, scale, attn_block, a.p, y);
      else attention_full(q, ld, T, a.hd, C, scale, pad, a.p, y);
    }
  }
  free(a.p);
  free(a.pads);
  return NULL;
}

static napi_value attention_grad(napi_env env, napi_callback_info info) {
  attn_args a;
  if (!read_attention_args(env, info, true, &a)) return NULL;
  int64_t C = a.H * a.hd, ld = 3 * C, T = a.T;
  float scale = 1.0f / sqrtf((float)a.hd);
  bool blocks = attention_blocks_agree(T, a.H, a.hd);
  for (int64_t b = 0; b < a.B; b++) {
    int64_t pad = a.pads ? a.pads[b] : 0;
    for (int64_t h = 0; h < a.H; h++) {
      const float *q = a.base + a.qkv + b * T * ld + h * a.hd;
      const float *dy = a.base + a.dy + b * T * C + h * a.hd;
      float *dq = a.base + a.out + b * T * ld + h * a.hd;
      if (blocks && pad == 0) attention_grad_blocks(q, dy, dq, ld, T, a.hd, C, scale, attn_block, a.p, a.p + T * T);
      else attention_grad_full(q, dy, dq, ld, T, a.hd, C, scale, pad, a.p, a.p + T * T);
    }
  }
  free(a.p);
  free(a.pads);
  return NULL;
}

/*
 * setAttentionBlocks(R) -> number: the causal blocks' row count (0: the whole square always);
 * returns the previous one. Each T is checked again under the new R at its first call.
 */
static napi_value set_attention_blocks(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t r;
  napi_value out;
  if (!begin(&c, env, info, "setAttentionBlocks", 1, false) || !arg_int(&c, 0, "rows", 0, 4096, &r)) return NULL;
  pthread_mutex_lock(&attn_check_lock);
  napi_create_double(env, (double)attn_block, &out);
  attn_block = (int64_t)r;
  pthread_mutex_unlock(&attn_check_lock);
  return out;
}

/* attentionBlocksAgree(T, H, hd) -> bool: whether calls at this shape use the causal blocks. */
static napi_value attention_blocks_agree_js(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t T, H, hd;
  napi_value out;
  if (!begin(&c, env, info, "attentionBlocksAgree", 3, false) || !arg_int(&c, 0, "T", 1, ATTN_MAX_CHECKED_T, &T) ||
      !arg_int(&c, 1, "H", 1, 1024, &H) || !arg_int(&c, 2, "hd", 1, 1024, &hd) || !need_blas(&c, false))
    return NULL;
  napi_get_boolean(env, attention_blocks_agree((int64_t)T, (int64_t)H, (int64_t)hd), &out);
  return out;
}

/* ---- LayerNorm ---- */

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

/*
 * y = (x - mean) * rstd * w + b for R rows of C. Not inlined: layerNorm and decodeStep run this
 * one copy of the machine code, so the two cannot round differently.
 */
static __attribute__((noinline)) void layer_norm_rows(const float *x, const float *w, const float *b, float *y,
                                                      int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; r++) {
    const float *xr = x + r * C;
    float *yr = y + r * C;
    float m, rstd;
    row_stats(xr, C, &m, &rstd);
    for (int64_t j = 0; j < C; j++) yr[j] = (xr[j] - m) * rstd * w[j] + b[j];
  }
}

static napi_value layer_norm(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t xo, wo, bo, yo, R, C, RC;
  if (!begin(&c, env, info, "layerNorm", 7, true) || !arg_int(&c, 1, "x", 0, U53, &xo) ||
      !arg_int(&c, 2, "w", 0, U53, &wo) || !arg_int(&c, 3, "b", 0, U53, &bo) || !arg_int(&c, 4, "y", 0, U53, &yo) ||
      !arg_int(&c, 5, "R", 1, U53, &R) || !arg_int(&c, 6, "C", 1, U53, &C) || !mul(&c, "R*C", R, C, &RC) ||
      !operand(&c, "x", xo, 0, 1, RC) || !operand(&c, "w", wo, 0, 1, C) || !operand(&c, "b", bo, 0, 1, C) ||
      !operand(&c, "y", yo, 0, 1, RC))
    return NULL;
  layer_norm_rows(c.base + xo, c.base + wo, c.base + bo, c.base + yo, (int64_t)R, (int64_t)C);
  return NULL;
}

static napi_value layer_norm_grad(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t xo, wo, dyo, dxo, dwo, dbo, R, C, RC;
  if (!begin(&c, env, info, "layerNormGrad", 9, true) || !arg_int(&c, 1, "x", 0, U53, &xo) ||
      !arg_int(&c, 2, "w", 0, U53, &wo) || !arg_int(&c, 3, "dy", 0, U53, &dyo) ||
      !arg_int(&c, 4, "dx", 0, U53, &dxo) || !arg_int(&c, 5, "dw", 0, U53, &dwo) ||
      !arg_int(&c, 6, "db", 0, U53, &dbo) || !arg_int(&c, 7, "R", 1, U53, &R) || !arg_int(&c, 8, "C", 1, U53, &C) ||
      !mul(&c, "R*C", R, C, &RC) || !operand(&c, "x", xo, 0, 1, RC) || !operand(&c, "w", wo, 0, 1, C) ||
      !operand(&c, "dy", dyo, 0, 1, RC) || !operand(&c, "dx", dxo, 0, 1, RC) || !operand(&c, "dw", dwo, 0, 1, C) ||
      !operand(&c, "db", dbo, 0, 1, C))
    return NULL;
  const float *w = c.base + wo;
  float *dw = c.base + dwo, *db = c.base + dbo;
  for (uint64_t j = 0; j < C; j++) dw[j] = db[j] = 0.0f;
  for (uint64_t r = 0; r < R; r++) {
    const float *x = c.base + xo + r * C, *dy = c.base + dyo + r * C;
    float *dx = c.base + dxo + r * C;
    float m, rstd;
    row_stats(x, (int64_t)C, &m, &rstd);
    /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w; dw += dy * xhat; db += dy */
    double mg = 0, mgx = 0;
    for (uint64_t j = 0; j < C; j++) {
      float xh = (x[j] - m) * rstd, g = dy[j] * w[j];
      mg += g;
      mgx += g * xh;
      dw[j] += dy[j] * xh;
      db[j] += dy[j];
    }
    float fmg = (float)(mg / (double)C), fmgx = (float)(mgx / (double)C);
    for (uint64_t j = 0; j < C; j++) {
      float xh = (x[j] - m) * rstd;
      dx[j] = rstd * (dy[j] * w[j] - fmg - xh * fmgx);
    }
  }
  return NULL;
}

/* ---- one decoding step against the KV cache ---- */

/*
 * One query row against the cache: y [hd] = softmax(q . keys + bias) . values over the old block
 * (k1, v1: n1 rows of hd) then the recent one (k2, v2: n2 rows, n2 may be 0); p: Tk = n1 + n2
 * floats of scratch. Each block is its own sgemv (the blocks' boundary is part of the arithmetic:
 * the values are summed block by block). Not inlined: cachedAttention and decodeStep run this one
 * copy (see layer_norm_rows).
 */
static __attribute__((noinline)) void attend(const float *q, const float *k1, const float *v1, int n1,
                                             const float *k2, const float *v2, int n2, int hd, const float *bias,
                                             float *p, float *y) {
  int Tk = n1 + n2;
  sgemv(ROW_MAJOR, NO_TRANS, n1, hd, 1.0f, k1, hd, q, 1, 0.0f, p, 1);
  if (n2 > 0) sgemv(ROW_MAJOR, NO_TRANS, n2, hd, 1.0f, k2, hd, q, 1, 0.0f, p + n1, 1);
  float mx = -INFINITY;
  for (int j = 0; j < Tk; j++) {
    p[j] += bias[j];
    mx = p[j] > mx ? p[j] : mx;
  }
  float sum = 0.0f;
  exp_minus(p, Tk, mx);
  for (int j = 0; j < Tk; j++) sum += p[j];
  float inv = 1.0f / sum;
  for (int j = 0; j < Tk; j++) p[j] *= inv;
  sgemv(ROW_MAJOR, TRANS, n1, hd, 1.0f, v1, hd, p, 1, 0.0f, y, 1);
  if (n2 > 0) sgemv(ROW_MAJOR, TRANS, n2, hd, 1.0f, v2, hd, p + n1, 1, 1.0f, y, 1);
}

static napi_value cached_attention(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t q, k1, v1, n1, k2, v2, n2, bias, out, B, H, hd, BH, Tk, s_q, s_1, s_2, s_bias;
  if (!begin(&c, env, info, "cachedAttention", 13, true) || !arg_int(&c, 1, "q", 0, U53, &q) ||
      !arg_int(&c, 2, "k1", 0, U53, &k1) || !arg_int(&c, 3, "v1", 0, U53, &v1) ||
      !arg_int(&c, 4, "n1", 1, BLAS_INT_MAX, &n1) || !arg_int(&c, 5, "k2", 0, U53, &k2) ||
      !arg_int(&c, 6, "v2", 0, U53, &v2) || !arg_int(&c, 7, "n2", 0, BLAS_INT_MAX, &n2) ||
      !arg_int(&c, 8, "bias", 0, U53, &bias) || !arg_int(&c, 9, "out", 0, U53, &out) ||
      !arg_int(&c, 10, "B", 1, U53, &B) || !arg_int(&c, 11, "H", 1, U53, &H) ||
      !arg_int(&c, 12, "hd", 1, BLAS_INT_MAX, &hd) || !mul(&c, "B*H", B, H, &BH) || !add(&c, "n1+n2", n1, n2, &Tk) ||
      !mul(&c, "B*H*hd", BH, hd, &s_q) || !mul(&c, "B*H*n1*hd", s_q, n1, &s_1) ||
      !mul(&c, "B*H*n2*hd", s_q, n2, &s_2) || !mul(&c, "B*(n1+n2)", B, Tk, &s_bias) ||
      !operand(&c, "q", q, 0, 1, s_q) || !operand(&c, "k1", k1, 0, 1, s_1) || !operand(&c, "v1", v1, 0, 1, s_1) ||
      !operand(&c, "k2", k2, 0, 1, s_2) || !operand(&c, "v2", v2, 0, 1, s_2) ||
      !operand(&c, "bias", bias, 0, 1, s_bias) || !operand(&c, "out", out, 0, 1, s_q) || !need_blas(&c, true))
    return NULL;
  float *p = scratch(&c, "[n1 + n2]", Tk);
  if (!p) return NULL;
  float *base = c.base;
  for (uint64_t r = 0; r < BH; r++)
    attend(base + q + r * hd, base + k1 + r * n1 * hd, base + v1 + r * n1 * hd, (int)n1, base + k2 + r * n2 * hd,
           base + v2 + r * n2 * hd, (int)n2, (int)hd, base + bias + (r / H) * Tk, p, base + out + r * hd);
  free(p);
  return NULL;
}

/* ---- GELU ---- */

#define GELU_A 1.5957691216057308f /* 2 sqrt(2/pi) */
#define GELU_B (GELU_A * 0.044715f)
#define GELU_3B (3.0f * GELU_B) /* folded in float, as the scalar loop's 3.0f * GELU_B */

/*
 * expf, four or eight at a time, giving the same bits as glibc's scalar expf (issue 31: GELU and
 * its gradient spent most of their time in one expf call per element). glibc (2.27 on, Debian 12's
 * 2.36 included) computes expf in double: x * 32/ln2 = k + r, 2^(k/32) from a 32-entry table with
 * k's high bits added into the exponent, and a cubic in r; on a CPU with FMA and AVX2 its ifunc
 * picks the copy compiled with FMA, where gcc fuses x * 32/ln2 into both the rounding step and r.
 * vexp4 does those double operations in the same order with the same fusions, lane by lane, so
 * each lane rounds exactly as the scalar call does. The check is empirical, and it is made, not
 * assumed: every float with |x| < 88 agrees on this machine (expfAgreement below, 2.24e9 inputs),
 * and vexp_usable() checks a spread of inputs at first use and keeps the scalar loop if one lane
 * differs (another libc, a CPU without FMA whose glibc takes its SSE2 copy). Inputs with
 * |x| >= 88 or NaN (overflow, underflow, errno) always take the scalar call.
 */
#define VEXP_N 32
static uint64_t vexp_table[VEXP_N]; /* asuint64(2^(i/32)) - (i << 47), filled by vexp_usable */
static const double VEXP_INVLN2N = 0x1.71547652b82fep+0 * VEXP_N, VEXP_SHIFT = 0x1.8p+52;
static const double VEXP_C0 = 0x1.c6af84b912394p-5 / VEXP_N / VEXP_N / VEXP_N,
                    VEXP_C1 = 0x1.ebfce50fac4f3p-3 / VEXP_N / VEXP_N, VEXP_C2 = 0x1.62e42ff0c52d6p-1 / VEXP_N;
static int vexp_state = -1; /* -1 not yet checked, 0 scalar only, 1 vector */
static bool vexp_enabled = true; /* setVectorExp(false): the scalar loops, for comparisons */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VEXP_TARGET __attribute__((target("avx2,fma")))
VEXP_TARGET static inline __m128 vexp4(__m128 x) {
  __m256d xd = _mm256_cvtps_pd(x), inv = _mm256_set1_pd(VEXP_INVLN2N), shift = _mm256_set1_pd(VEXP_SHIFT);
  __m256d kd = _mm256_fmadd_pd(inv, xd, shift);
  __m256i ki = _mm256_castpd_si256(kd);
  kd = _mm256_sub_pd(kd, shift);
  __m256d r = _mm256_fmsub_pd(inv, xd, kd);
  __m256i t = _mm256_i64gather_epi64((const long long *)vexp_table, _mm256_and_si256(ki, _mm256_set1_epi64x(VEXP_N - 1)), 8);
  __m256d s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64(ki, 47)));
  __m256d z = _mm256_fmadd_pd(_mm256_set1_pd(VEXP_C0), r, _mm256_set1_pd(VEXP_C1));
  __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(_mm256_set1_pd(VEXP_C2), r, _mm256_set1_pd(1.0));
  y = _mm256_fmadd_pd(z, r2, y);
  return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}

/* expf of 8 floats; lanes with |x| >= 88 or NaN go through the scalar call. */
VEXP_TARGET static inline __m256 vexp8(__m256 x) {
  __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(88.0f), _CMP_NLT_UQ);
  __m256 y = _mm256_set_m128(vexp4(_mm256_extractf128_ps(x, 1)), vexp4(_mm256_castps256_ps128(x)));
  if (_mm256_movemask_ps(big)) {
    float xs[8], ys[8];
    _mm256_storeu_ps(xs, x);
    _mm256_storeu_ps(ys, y);
    for (int l = 0; l < 8; l++)
      if (!(fabsf(xs[l]) < 88.0f)) ys[l] = expf(xs[l]);
    y = _mm256_loadu_ps(ys);
  }
  return y;
}

/* How many of the first n lanes of xs (the rest filled with zeros) vexp8 and expf disagree on. */
VEXP_TARGET static uint64_t group_disagreements(float xs[8], int n) {
  float ys[8];
  uint64_t bad = 0;
  for (int l = n; l < 8; l++) xs[l] = 0.0f;
  _mm256_storeu_ps(ys, vexp8(_mm256_loadu_ps(xs)));
  for (int l = 0; l < n; l++) {
    float e = expf(xs[l]);
    bad += memcmp(&e, &ys[l], 4) != 0;
  }
  return bad;
}

/* The number of floats x in [lo, hi) (as bit patterns, |x| < 88, every stride-th) where vexp8
   and expf differ. */
VEXP_TARGET static uint64_t vexp_disagreements(uint64_t lo, uint64_t hi, uint64_t stride) {
  uint64_t bad = 0;
  float xs[8];
  int n = 0;
  for (uint64_t u = lo; u < hi; u += stride) {
    uint32_t b = (uint32_t)u;
    memcpy(&xs[n], &b, 4);
    if (!(fabsf(xs[n]) < 88.0f)) continue;
    if (++n < 8) continue;
    bad += group_disagreements(xs, 8);
    n = 0;
  }
  return n > 0 ? bad + group_disagreements(xs, n) : bad;
}

static void vexp_check(void) {
  for (int i = 0; i < VEXP_N; i++) {
    double v = exp2((double)i / VEXP_N);
    uint64_t u;
    memcpy(&u, &v, 8);
    vexp_table[i] = u - ((uint64_t)i << 47);
  }
  __builtin_cpu_init();
  /* A spread of 2^20 inputs (every 4093rd float) plus two that only the fused rounding gets right. */
  vexp_state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               vexp_disagreements(0, 1ull << 32, 4093) == 0 && vexp_disagreements(0x4202422f, 0x42024237, 1) == 0;
}

static pthread_once_t vexp_once = PTHREAD_ONCE_INIT;

/* Checked once per process (the data-parallel workers are threads sharing this addon). */
static bool vexp_usable(void) {
  pthread_once(&vexp_once, vexp_check);
  return vexp_state == 1 && vexp_enabled;
}

VEXP_TARGET static int64_t gelu_vector(const float *x, float *y, int64_t n) {
  const __m256 a = _mm256_set1_ps(GELU_A), b = _mm256_set1_ps(GELU_B), one = _mm256_set1_ps(1.0f),
               neg = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 z = _mm256_mul_ps(v, _mm256_add_ps(a, _mm256_mul_ps(_mm256_mul_ps(b, v), v)));
    __m256 e = vexp8(_mm256_xor_ps(z, neg));
    _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
  }
  return i;
}

VEXP_TARGET static int64_t gelu_grad_vector(const float *x, const float *dy, float *dx, int64_t n) {
  const __m256 a = _mm256_set1_ps(GELU_A), b = _mm256_set1_ps(GELU_B), b3 = _mm256_set1_ps(GELU_3B),
               one = _mm256_set1_ps(1.0f), neg = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 sq = _mm256_mul_ps(v, v);
    __m256 e = vexp8(_mm256_mul_ps(_mm256_xor_ps(v, neg), _mm256_add_ps(a, _mm256_mul_ps(b, sq))));
    __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, e));
    __m256 dz = _mm256_add_ps(a, _mm256_mul_ps(b3, sq));
    __m256 inner = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(s, _mm256_sub_ps(one, s)), v), dz);
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_add_ps(s, inner)));
  }
  return i;
}
VEXP_TARGET static int64_t exp_minus_vector(float *x, int64_t n, float mx) {
  const __m256 m = _mm256_set1_ps(mx);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(x + j, vexp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), m)));
  return j;
}
#else
static int64_t exp_minus_vector(float *x, int64_t n, float mx) { return 0; }
static bool vexp_usable(void) { return false; }
static uint64_t vexp_disagreements(uint64_t lo, uint64_t hi, uint64_t stride) { return 0; }
static int64_t gelu_vector(const float *x, float *y, int64_t n) { return 0; }
static int64_t gelu_grad_vector(const float *x, const float *dy, float *dx, int64_t n) { return 0; }
#endif

static void exp_minus(float *x, int64_t n, float mx) {
  int64_t j = vexp_usable() ? exp_minus_vector(x, n, mx) : 0;
  for (; j < n; j++) x[j] = expf(x[j] - mx);
}

/* y = GELU(x) for n values. Not inlined: gelu and decodeStep run this one copy (see layer_norm_rows).
   The vector loop takes whole groups of 8 and the scalar loop the rest: the same bits either way. */
static __attribute__((noinline)) void gelu_run(const float *x, float *y, int64_t n) {
  int64_t i = vexp_usable() ? gelu_vector(x, y, n) : 0;
  for (; i < n; i++) {
    float z = x[i] * (GELU_A + GELU_B * x[i] * x[i]);
    y[i] = x[i] / (1.0f + expf(-z));
  }
}

static napi_value gelu(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t xo, yo, n;
  if (!begin(&c, env, info, "gelu", 4, true) || !arg_int(&c, 1, "x", 0, U53, &xo) ||
      !arg_int(&c, 2, "y", 0, U53, &yo) || !arg_int(&c, 3, "n", 0, U53, &n) || !operand(&c, "x", xo, 0, 1, n) ||
      !operand(&c, "y", yo, 0, 1, n))
    return NULL;
  if (n == 0) return NULL;
  gelu_run(c.base + xo, c.base + yo, (int64_t)n);
  return NULL;
}

static napi_value gelu_grad(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t xo, dyo, dxo, n;
  if (!begin(&c, env, info, "geluGrad", 5, true) || !arg_int(&c, 1, "x", 0, U53, &xo) ||
      !arg_int(&c, 2, "dy", 0, U53, &dyo) || !arg_int(&c, 3, "dx", 0, U53, &dxo) || !arg_int(&c, 4, "n", 0, U53, &n) ||
      !operand(&c, "x", xo, 0, 1, n) || !operand(&c, "dy", dyo, 0, 1, n) || !operand(&c, "dx", dxo, 0, 1, n))
    return NULL;
  if (n == 0) return NULL;
  const float *x = c.base + xo, *dy = c.base + dyo;
  float *dx = c.base + dxo;
  int64_t i = vexp_usable() ? gelu_grad_vector(x, dy, dx, (int64_t)n) : 0;
  for (; i < (int64_t)n; i++) {
    float sq = x[i] * x[i];
    float s = 1.0f / (1.0f + expf(-x[i] * (GELU_A + GELU_B * sq)));
    float dz = GELU_A + GELU_3B * sq;
    dx[i] = dy[i] * (s + s * (1.0f - s) * x[i] * dz);
  }
  return NULL;
}

/*
 * setVectorExp(on) -> bool: whether GELU, its gradient and the softmaxes may use the vector expf (default on);
 * returns whether they will (on, and the first-use check passed). Off runs the scalar loops, for
 * comparisons (the results are the same bits).
 */
static napi_value set_vector_exp(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t on;
  napi_value out;
  if (!begin(&c, env, info, "setVectorExp", 1, false) || !arg_int(&c, 0, "on", 0, 1, &on)) return NULL;
  vexp_enabled = on == 1;
  napi_get_boolean(env, vexp_usable(), &out);
  return out;
}

/*
 * expfAgreement(lo, hi, stride) -> number: how many floats with bit patterns u in [lo, hi)
 * (every stride-th, |x| < 88) get different bits from the vector expf and glibc's expf; 0 where
 * the vector path is not compiled in. The whole range (0, 2^32, 1) takes about 15 s.
 */
static napi_value expf_agreement(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t lo, hi, stride;
  napi_value out;
  if (!begin(&c, env, info, "expfAgreement", 3, false) || !arg_int(&c, 0, "lo", 0, 1ull << 32, &lo) ||
      !arg_int(&c, 1, "hi", 0, 1ull << 32, &hi) || !arg_int(&c, 2, "stride", 1, 1ull << 32, &stride))
    return NULL;
  vexp_usable(); /* fills the table */
  napi_create_double(env, (double)vexp_disagreements(lo, hi, stride), &out);
  return out;
}

/* ---- a whole cached decoding step ---- */

/*
 * decodeStep(heap, plan, pads, scale, neg): one token per sequence through every layer to the
 * logits, against a preallocated KV cache, as one call (src/model/native-decode.ts). It computes
 * exactly what the kernel-by-kernel cached step of src/model/gpt.ts computes with this kernel set,
 * bit for bit: the same helpers (layer_norm_rows, product, attend, gelu_run) with the same
 * arguments, and between them only copies and the two elementwise operations tfjs runs there
 * (q times scale, the residual add), each one IEEE float operation.
 *
 * The heap here is the decoder's own ArrayBuffer (not the wasm heap): weights, the transposed
 * token table, the input rows, the scratch, the logits and the cache all live in it, at the
 * float offsets `plan` names. plan: { B, C, H, V, rows, maxLen, n1, n2, x, scratch, logits, wteT,
 * kCache, vCache, lnfW, lnfB, layers: [{ ln1W, ln1B, attnW, attnB, attnProjW, attnProjB, ln2W,
 * ln2B, fcW, fcB, mlpProjW, mlpProjB }, ...] }.
 *   x [B, C]       the new tokens' embeddings; the residual stream, overwritten
 *   scratch        14 * B * C floats: LayerNorm output (then q scaled), qkv, attention output,
 *                  projection output, MLP hidden, GELU output
 *   logits [B, V]  written: ln_f(x) @ wteT
 *   wteT [C, V]    the token table transposed (the tied head, as gpt.ts's head() takes it)
 *   kCache, vCache [nLayer, rows, H, maxLen, hd] each: row b of layer l, head h holds the keys of
 *                  positions 0 .. n1 + n2 - 1; this step's key and value are written at position
 *                  n1 + n2 - 1 first, then attention runs over the old block [0, n1) and the
 *                  recent block [n1, n1 + n2) (n2 may be 0), exactly the blocks of gpt.ts's
 *                  LayerCache at this step
 * pads (Int32Array of B): sequence b's first pads[b] cache positions get `neg` added to their
 * scores (the left padding of its prompt); scale: the q scale (float32 1/sqrt(hd)).
 * Plan and pads are read (pads copied) before the heap is taken: their getters may run JavaScript.
 */

static const char *const LAYER_FIELDS[] = {"ln1W", "ln1B", "attnW",    "attnB", "attnProjW", "attnProjB",
                                           "ln2W", "ln2B", "fcW",      "fcB",   "mlpProjW",  "mlpProjB"};
enum { LN1W, LN1B, ATTNW, ATTNB, APROJW, APROJB, LN2W, LN2B, FCW, FCB, MPROJW, MPROJB, N_LAYER_FIELDS };
/* A model deeper than this is refused (the toolkit's models have 1 to 8 layers). */
#define MAX_LAYERS 1024

typedef struct {
  uint64_t B, C, H, V, rows, maxLen, n1, n2;
  uint64_t x, scratch, logits, wteT, kCache, vCache, lnfW, lnfB;
  uint64_t nLayer;
  uint64_t (*layers)[N_LAYER_FIELDS]; /* malloc'ed: free() it */
} decode_plan;

/* obj.key into *v (a getter that throws leaves its exception pending). */
static bool field(call_t *c, napi_value obj, const char *key, const char *name, napi_value *v) {
  if (napi_get_named_property(c->env, obj, key, v) == napi_ok) return true;
  bool pending = false;
  if (napi_is_exception_pending(c->env, &pending) == napi_ok && pending) return false;
  return TYPE_ERROR(c, "argument '%s' cannot be read", name);
}

/* obj.key as an integer in [lo, hi]; `name` is what messages call it ("plan.B"). */
static bool field_int(call_t *c, napi_value obj, const char *key, const char *name, uint64_t lo, uint64_t hi,
                      uint64_t *out) {
  napi_value v;
  return field(c, obj, key, name, &v) && value_int(c, v, name, lo, hi, out);
}

/* v must be an object (not null, not a function); `name` says which. */
static bool need_object(call_t *c, napi_value v, const char *name) {
  napi_valuetype t;
  char got[96];
  if (napi_typeof(c->env, v, &t) == napi_ok && t == napi_object) return true;
  describe(c->env, v, got, sizeof got);
  return TYPE_ERROR(c, "argument '%s' must be an object, got %s", name, got);
}

/* plan.layers: an Array of 1 .. MAX_LAYERS objects, each with the LAYER_FIELDS as offsets. */
static bool read_layers(call_t *c, napi_value plan, decode_plan *d) {
  napi_value arr, layer;
  bool is_array = false;
  uint32_t n = 0;
  char name[64], got[96];
  if (!field(c, plan, "layers", "plan.layers", &arr)) return false;
  if (napi_is_array(c->env, arr, &is_array) != napi_ok || !is_array) {
    describe(c->env, arr, got, sizeof got);
    return TYPE_ERROR(c, "argument 'plan.layers' must be an Array, got %s", got);
  }
  if (napi_get_array_length(c->env, arr, &n) != napi_ok) return TYPE_ERROR(c, "argument 'plan.layers' cannot be read");
  if (n < 1 || n > MAX_LAYERS)
    return RANGE_ERROR(c, "argument 'plan.layers' must hold 1 to %d layers, got %u", MAX_LAYERS, n);
  d->layers = malloc(n * sizeof *d->layers);
  if (!d->layers) {
    napi_throw_error(c->env, NULL, "native kernels: out of memory for the plan");
    return false;
  }
  d->nLayer = n;
  for (uint32_t i = 0; i < n; i++) {
    snprintf(name, sizeof name, "plan.layers[%u]", i);
    if (napi_get_element(c->env, arr, i, &layer) != napi_ok) {
      bool pending = false;
      if (napi_is_exception_pending(c->env, &pending) == napi_ok && pending) return false;
      return TYPE_ERROR(c, "argument '%s' cannot be read", name);
    }
    if (!need_object(c, layer, name)) return false;
    for (int f = 0; f < N_LAYER_FIELDS; f++) {
      snprintf(name, sizeof name, "plan.layers[%u].%s", i, LAYER_FIELDS[f]);
      if (!field_int(c, layer, LAYER_FIELDS[f], name, 0, U53, &d->layers[i][f])) return false;
    }
  }
  return true;
}

/* The plan's sizes and offsets, each read once and range-checked (not yet against the heap). */
static bool read_plan(call_t *c, napi_value plan, decode_plan *d) {
  d->layers = NULL;
  if (!need_object(c, plan, "plan") || !field_int(c, plan, "B", "plan.B", 1, BLAS_INT_MAX, &d->B) ||
      !field_int(c, plan, "C", "plan.C", 1, BLAS_INT_MAX / 4, &d->C) ||
      !field_int(c, plan, "H", "plan.H", 1, d->C, &d->H) ||
      !field_int(c, plan, "V", "plan.V", 1, BLAS_INT_MAX, &d->V) ||
      !field_int(c, plan, "rows", "plan.rows", d->B, U53, &d->rows) ||
      !field_int(c, plan, "maxLen", "plan.maxLen", 1, BLAS_INT_MAX, &d->maxLen) ||
      !field_int(c, plan, "n1", "plan.n1", 1, d->maxLen, &d->n1) ||
      !field_int(c, plan, "n2", "plan.n2", 0, d->maxLen - d->n1, &d->n2) ||
      !field_int(c, plan, "x", "plan.x", 0, U53, &d->x) ||
      !field_int(c, plan, "scratch", "plan.scratch", 0, U53, &d->scratch) ||
      !field_int(c, plan, "logits", "plan.logits", 0, U53, &d->logits) ||
      !field_int(c, plan, "wteT", "plan.wteT", 0, U53, &d->wteT) ||
      !field_int(c, plan, "kCache", "plan.kCache", 0, U53, &d->kCache) ||
      !field_int(c, plan, "vCache", "plan.vCache", 0, U53, &d->vCache) ||
      !field_int(c, plan, "lnfW", "plan.lnfW", 0, U53, &d->lnfW) ||
      !field_int(c, plan, "lnfB", "plan.lnfB", 0, U53, &d->lnfB) || !read_layers(c, plan, d))
    return false;
  if (d->C % d->H != 0)
    return RANGE_ERROR(c, "argument 'plan.C' (%llu) must be divisible by plan.H (%llu)", (unsigned long long)d->C,
                       (unsigned long long)d->H);
  return true;
}

/* Every operand of the plan inside the heap (sizes are checked for overflow on the way). */
static bool plan_fits(call_t *c, const decode_plan *d) {
  uint64_t C = d->C, BC, scratch_span, logits_span, wte_span, cache_span, per_layer;
  if (!mul(c, "B*C", d->B, C, &BC) || !mul(c, "14*B*C (the scratch)", BC, 14, &scratch_span) ||
      !mul(c, "B*V", d->B, d->V, &logits_span) || !mul(c, "C*V", C, d->V, &wte_span) ||
      !mul(c, "nLayer*rows", d->nLayer, d->rows, &per_layer) ||
      !mul(c, "nLayer*rows*maxLen", per_layer, d->maxLen, &cache_span) ||
      !mul(c, "nLayer*rows*maxLen*C", cache_span, C, &cache_span) || !operand(c, "x", d->x, 0, 1, BC) ||
      !operand(c, "scratch", d->scratch, 0, 1, scratch_span) || !operand(c, "logits", d->logits, 0, 1, logits_span) ||
      !operand(c, "wteT", d->wteT, 0, 1, wte_span) || !operand(c, "kCache", d->kCache, 0, 1, cache_span) ||
      !operand(c, "vCache", d->vCache, 0, 1, cache_span) || !operand(c, "lnfW", d->lnfW, 0, 1, C) ||
      !operand(c, "lnfB", d->lnfB, 0, 1, C))
    return false;
  /* C <= BLAS_INT_MAX / 4, so none of these products overflows. */
  const uint64_t spans[N_LAYER_FIELDS] = {C, C, C * 3 * C, 3 * C, C * C, C, C, C, C * 4 * C, 4 * C, 4 * C * C, C};
  char name[64];
  for (uint64_t i = 0; i < d->nLayer; i++) {
    for (int f = 0; f < N_LAYER_FIELDS; f++) {
      snprintf(name, sizeof name, "layers[%llu].%s", (unsigned long long)i, LAYER_FIELDS[f]);
      if (!operand(c, name, d->layers[i][f], 0, 1, spans[f])) return false;
    }
  }
  return true;
}

/* out [m, n] = a [m, k] @ w [k, n] + bias: C starts as the bias in every row, then beta = 1 (fusedMatMul's way). */
static void linear(const float *a, const float *w, const float *bias, float *out, int64_t m, int64_t n, int64_t k) {
  for (int64_t r = 0; r < m; r++) memcpy(out + r * n, bias, (size_t)n * sizeof(float));
  product((int)m, (int)n, (int)k, false, false, a, w, 1.0f, out);
}

/* x += y over n values (tfjs's residual Add). */
static void add_into(float *x, const float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = x[i] + y[i];
}

static void run_decode(float *base, const decode_plan *d, const int32_t *pads, float scale, float neg, float *p,
                       float *bias) {
  const int64_t B = (int64_t)d->B, C = (int64_t)d->C, H = (int64_t)d->H, hd = C / H, BC = B * C;
  const int64_t n1 = (int64_t)d->n1, n2 = (int64_t)d->n2, Tk = n1 + n2, maxLen = (int64_t)d->maxLen;
  float *x = base + d->x, *h = base + d->scratch, *qkv = h + BC, *y = qkv + 3 * BC, *proj = y + BC, *fc = proj + BC,
        *g = fc + 4 * BC;
  for (uint64_t l = 0; l < d->nLayer; l++) {
    const uint64_t *w = d->layers[l];
    const int64_t layer = (int64_t)(l * d->rows) * H * maxLen * hd;
    float *kc = base + d->kCache + layer, *vc = base + d->vCache + layer;
    layer_norm_rows(x, base + w[LN1W], base + w[LN1B], h, B, C);
    linear(h, base + w[ATTNW], base + w[ATTNB], qkv, B, 3 * C, C);
    for (int64_t b = 0; b < B; b++) {
      const float *row = qkv + b * 3 * C;
      for (int64_t hh = 0; hh < H; hh++) {
        int64_t at = ((b * H + hh) * maxLen + Tk - 1) * hd;
        memcpy(kc + at, row + C + hh * hd, (size_t)hd * sizeof(float));
        memcpy(vc + at, row + 2 * C + hh * hd, (size_t)hd * sizeof(float));
      }
      /* q times 1/sqrt(hd) into h (free once qkv is computed): the layout [B*H, hd] is [B, C] */
      for (int64_t i = 0; i < C; i++) h[b * C + i] = row[i] * scale;
    }
    for (int64_t b = 0; b < B; b++) {
      for (int64_t j = 0; j < Tk; j++) bias[j] = j < pads[b] ? neg : 0.0f;
      for (int64_t hh = 0; hh < H; hh++) {
        const float *k1 = kc + (b * H + hh) * maxLen * hd, *v1 = vc + (b * H + hh) * maxLen * hd;
        attend(h + b * C + hh * hd, k1, v1, (int)n1, k1 + n1 * hd, v1 + n1 * hd, (int)n2, (int)hd, bias, p,
               y + b * C + hh * hd);
      }
    }
    linear(y, base + w[APROJW], base + w[APROJB], proj, B, C, C);
    add_into(x, proj, BC);
    layer_norm_rows(x, base + w[LN2W], base + w[LN2B], h, B, C);
    linear(h, base + w[FCW], base + w[FCB], fc, B, 4 * C, C);
    gelu_run(fc, g, 4 * BC);
    linear(g, base + w[MPROJW], base + w[MPROJB], proj, B, C, 4 * C);
    add_into(x, proj, BC);
  }
  layer_norm_rows(x, base + d->lnfW, base + d->lnfB, h, B, C);
  product((int)B, (int)d->V, (int)C, false, false, h, base + d->wteT, 0.0f, base + d->logits);
}

static napi_value decode_step(napi_env env, napi_callback_info info) {
  call_t c;
  decode_plan d = {0};
  int32_t *pads = NULL;
  double scale, neg;
  uint64_t Tk;
  float *p = NULL;
  /* Plan and pads first, the heap last (see above). */
  bool ok = begin(&c, env, info, "decodeStep", 5, false) && read_plan(&c, c.argv[1], &d) &&
            add(&c, "n1+n2", d.n1, d.n2, &Tk) && arg_pads(&c, 2, d.B, Tk, &pads) &&
            arg_float(&c, 3, "scale", &scale) && arg_float(&c, 4, "neg", &neg) && take_heap(&c) &&
            plan_fits(&c, &d) && need_blas(&c, true);
  if (ok && !pads) ok = TYPE_ERROR(&c, "argument 'pads' must be an Int32Array of B entries, got null");
  if (ok) p = scratch(&c, "[2, n1 + n2]", 2 * Tk);
  if (p) run_decode(c.base, &d, pads, (float)scale, (float)neg, p, p + Tk);
  free(p);
  free(pads);
  free(d.layers);
  return NULL;
}

/* ---- embedding rows by host ids ---- */

/*
 * The ids argument: an Int32Array whose every entry is in [0, R), copied (so the kernel's own
 * writes cannot change it underneath); *n gets its length.
 */
static bool arg_ids(call_t *c, size_t i, uint64_t R, int32_t **out, uint64_t *n) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  char got[96];
  *out = NULL;
  describe(c->env, c->argv[i], got, sizeof got);
  if (napi_is_typedarray(c->env, c->argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array)
    return TYPE_ERROR(c, "argument 'ids' must be an Int32Array, got %s", got);
  int32_t *copy = (int32_t *)malloc(length ? length * sizeof(int32_t) : 1);
  if (!copy) {
    napi_throw_error(c->env, NULL, "native kernels: out of memory for ids");
    return false;
  }
  if (length) memcpy(copy, data, length * sizeof(int32_t));
  for (size_t k = 0; k < length; k++) {
    if (copy[k] < 0 || (uint64_t)copy[k] >= R) {
      int32_t bad = copy[k];
      free(copy);
      return RANGE_ERROR(c, "ids[%zu] must be between 0 and R - 1 = %llu, got %d", k, (unsigned long long)(R - 1),
                         (int)bad);
    }
  }
  *out = copy;
  *n = (uint64_t)length;
  return true;
}

static napi_value lookup_rows(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t to, R, C, oo, n = 0, RC, nC;
  int32_t *ids = NULL;
  if (!begin(&c, env, info, "lookupRows", 6, true) || !arg_int(&c, 1, "table", 0, U53, &to) ||
      !arg_int(&c, 2, "R", 1, U53, &R) || !arg_int(&c, 3, "C", 1, U53, &C) || !arg_int(&c, 5, "out", 0, U53, &oo) ||
      !mul(&c, "R*C", R, C, &RC) || !operand(&c, "table", to, 0, 1, RC) || !arg_ids(&c, 4, R, &ids, &n))
    return NULL;
  if (!mul(&c, "ids.length*C", n, C, &nC) || !operand(&c, "out", oo, 0, 1, nC)) {
    free(ids);
    return NULL;
  }
  const float *table = c.base + to;
  float *out = c.base + oo;
  for (uint64_t i = 0; i < n; i++) memmove(out + i * C, table + (uint64_t)ids[i] * C, C * sizeof(float));
  free(ids);
  return NULL;
}

static napi_value lookup_rows_grad(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t dyo, oo, R, C, n = 0, RC, nC;
  int32_t *ids = NULL;
  if (!begin(&c, env, info, "lookupRowsGrad", 6, true) || !arg_int(&c, 1, "dy", 0, U53, &dyo) ||
      !arg_int(&c, 3, "out", 0, U53, &oo) || !arg_int(&c, 4, "R", 1, U53, &R) || !arg_int(&c, 5, "C", 1, U53, &C) ||
      !mul(&c, "R*C", R, C, &RC) || !operand(&c, "out", oo, 0, 1, RC) || !arg_ids(&c, 2, R, &ids, &n))
    return NULL;
  if (!mul(&c, "ids.length*C", n, C, &nC) || !operand(&c, "dy", dyo, 0, 1, nC)) {
    free(ids);
    return NULL;
  }
  const float *dy = c.base + dyo;
  float *out = c.base + oo;
  memset(out, 0, RC * sizeof(float));
  for (uint64_t i = 0; i < n; i++) {
    float *row = out + (uint64_t)ids[i] * C;
    const float *d = dy + i * C;
    for (uint64_t j = 0; j < C; j++) row[j] += d[j];
  }
  free(ids);
  return NULL;
}

/* ---- the optimizer ----
 *
 * Every float operation here must round to float32 on its own, as each tfjs kernel it replaces
 * writes a float32 tensor: no FMA contraction (GCC contracts a*b+c by default where the target
 * has FMA, as aarch64 always does) and no reassociation (never -ffast-math). On x86-64 without
 * -march there is no FMA to contract to; the pragmas make the other targets and compilers agree.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

/* AdamW's coefficients, in the order of the coefs argument. */
enum { K_CLIP, K_B1, K_1MB1, K_B2, K_1MB2, K_STEP, K_SQRT_BC2, K_EPS, K_DECAY, ADAMW_COEFS };

/*
 * Argument i as a Float32Array of exactly `len` finite values, copied into out (so the kernel's own
 * writes to the heap cannot change them underneath).
 */
static bool arg_f32s(call_t *c, size_t i, const char *name, size_t len, float *out) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  char got[96];
  describe(c->env, c->argv[i], got, sizeof got);
  if (napi_is_typedarray(c->env, c->argv[i], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(c->env, c->argv[i], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array)
    return TYPE_ERROR(c, "argument '%s' must be a Float32Array, got %s", name, got);
  if (length != len) return RANGE_ERROR(c, "argument '%s' must have %zu entries, got %zu", name, len, length);
  if (len) memcpy(out, data, len * sizeof(float));
  for (size_t k = 0; k < len; k++)
    if (!isfinite(out[k])) return RANGE_ERROR(c, "%s[%zu] must be finite, got %g", name, k, (double)out[k]);
  return true;
}

static float sum_squares_loop(const float *x, uint64_t n) {
  float s = 0.0f;
  for (uint64_t i = 0; i < n; i++) {
    float sq = x[i] * x[i];
    s += sq;
  }
  return s;
}

static napi_value sum_squares(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t xo, n;
  if (!begin(&c, env, info, "sumSquares", 3, true) || !arg_int(&c, 1, "x", 0, U53, &xo) ||
      !arg_int(&c, 2, "n", 0, U53, &n) || !operand(&c, "x", xo, 0, 1, n))
    return NULL;
  napi_value out;
  if (napi_create_double(env, n ? (double)sum_squares_loop(c.base + xo, n) : 0.0, &out) != napi_ok) return NULL;
  return out;
}

/*
 * optim.ts, per element (every product, quotient, sum and root rounded to float32):
 *   g' = g * clip                     (clipByGlobalNorm's tf.mul(g, coef); clip 1 leaves g as is)
 *   m  = b1 * m + (1 - b1) * g'
 *   v  = b2 * v + (1 - b2) * (g' * g')
 *   p  = (decay ? p * (1 - lr*wd) : p) - (lr/bc1) * (m / (sqrt(v) / sqrt(bc2) + eps))
 * All four inputs of an element are read before any is written.
 */
static void adamw_loop(float *p, float *m, float *v, const float *g, uint64_t n, bool decay, const float *k) {
  const float clip = k[K_CLIP], b1 = k[K_B1], omb1 = k[K_1MB1], b2 = k[K_B2], omb2 = k[K_1MB2];
  const float step = k[K_STEP], sqrt_bc2 = k[K_SQRT_BC2], eps = k[K_EPS];
  /* Without decay p * 1 is p, bit for bit (NaN aside), which keeps the loop free of branches. */
  const float keep = decay ? k[K_DECAY] : 1.0f;
  for (uint64_t i = 0; i < n; i++) {
    float gi = g[i] * clip;
    float mi = m[i], vi = v[i], pi = p[i];
    float m1 = b1 * mi, m2 = omb1 * gi;
    float mn = m1 + m2;
    float sq = gi * gi;
    float v1 = b2 * vi, v2 = omb2 * sq;
    float vn = v1 + v2;
    float root = sqrtf(vn);
    float scaled = root / sqrt_bc2;
    float denom = scaled + eps;
    float base = pi * keep;
    float ratio = mn / denom;
    float stepped = step * ratio;
    m[i] = mn;
    v[i] = vn;
    p[i] = base - stepped;
  }
}

static napi_value adamw(napi_env env, napi_callback_info info) {
  call_t c;
  uint64_t po, mo, vo, go, n, decay;
  float k[ADAMW_COEFS];
  if (!begin(&c, env, info, "adamw", 8, true) || !arg_int(&c, 1, "p", 0, U53, &po) ||
      !arg_int(&c, 2, "m", 0, U53, &mo) || !arg_int(&c, 3, "v", 0, U53, &vo) || !arg_int(&c, 4, "g", 0, U53, &go) ||
      !arg_int(&c, 5, "n", 0, U53, &n) || !arg_int(&c, 6, "decay", 0, 1, &decay) ||
      !arg_f32s(&c, 7, "coefs", ADAMW_COEFS, k) || !operand(&c, "p", po, 0, 1, n) || !operand(&c, "m", mo, 0, 1, n) ||
      !operand(&c, "v", vo, 0, 1, n) || !operand(&c, "g", go, 0, 1, n))
    return NULL;
  if (n == 0) return NULL;
  adamw_loop(c.base + po, c.base + mo, c.base + vo, c.base + go, n, decay != 0, k);
  return NULL;
}

#if !defined(__clang__) && defined(__GNUC__)
#pragma GCC pop_options
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"load", NULL, load, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads_js, NULL, NULL, NULL, napi_default, NULL},
      {"blasInfo", NULL, blas_info, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"attention", NULL, attention, NULL, NULL, NULL, napi_default, NULL},
      {"attentionGrad", NULL, attention_grad, NULL, NULL, NULL, napi_default, NULL},
      {"setAttentionBlocks", NULL, set_attention_blocks, NULL, NULL, NULL, napi_default, NULL},
      {"attentionBlocksAgree", NULL, attention_blocks_agree_js, NULL, NULL, NULL, napi_default, NULL},
      {"cachedAttention", NULL, cached_attention, NULL, NULL, NULL, napi_default, NULL},
      {"layerNorm", NULL, layer_norm, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormGrad", NULL, layer_norm_grad, NULL, NULL, NULL, napi_default, NULL},
      {"gelu", NULL, gelu, NULL, NULL, NULL, napi_default, NULL},
      {"geluGrad", NULL, gelu_grad, NULL, NULL, NULL, napi_default, NULL},
      {"setVectorExp", NULL, set_vector_exp, NULL, NULL, NULL, napi_default, NULL},
      {"expfAgreement", NULL, expf_agreement, NULL, NULL, NULL, napi_default, NULL},
      {"lookupRows", NULL, lookup_rows, NULL, NULL, NULL, napi_default, NULL},
      {"lookupRowsGrad", NULL, lookup_rows_grad, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, sum_squares, NULL, NULL, NULL, napi_default, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_default, NULL},
      {"decodeStep", NULL, decode_step, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
