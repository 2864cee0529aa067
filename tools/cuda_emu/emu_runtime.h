// Host side of the CUDA emulator: the CUDA runtime, cuBLAS, cuBLASLt, CUB and kernel-launch subset that
// cuvi calls, implemented on the host by emu_runtime.cpp (device memory is host memory, one device).
#pragma once
#include <cstddef>
#include <cstdint>

#define EMU_API __attribute__((visibility("default")))
// Defined for code compiled against the emulator (tests mark the faults they provoke on purpose).
#define CUVI_CUDA_EMULATOR 1

// ------------------------------------------------------------------------------------------------
// CUDA runtime types (numeric values as in the CUDA 13 headers).

struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUevent_st;
typedef CUevent_st* cudaEvent_t;
struct CUgraph_st;
typedef CUgraph_st* cudaGraph_t;
struct CUgraphExec_st;
typedef CUgraphExec_st* cudaGraphExec_t;
struct CUgraphNode_st;
typedef CUgraphNode_st* cudaGraphNode_t;

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorStreamCaptureWrongThread = 908,
  cudaErrorUnknown = 999,
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaStreamLegacy ((cudaStream_t)0x1)
#define cudaStreamPerThread ((cudaStream_t)0x2)
#define cudaHostAllocDefault 0x00
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  size_t totalConstMem;
  int major;
  int minor;
  int multiProcessorCount;
  int maxThreadsPerMultiProcessor;
  int l2CacheSize;
  int memoryBusWidth;
  size_t sharedMemPerBlockOptin;
  size_t sharedMemPerMultiprocessor;
  int concurrentKernels;
  int unifiedAddressing;
};

// dim3 as in vector_types.h: every component defaults to 1.
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

extern "C" {
EMU_API cudaError_t cudaGetDeviceCount(int* count);
EMU_API cudaError_t cudaSetDevice(int device);
EMU_API cudaError_t cudaGetDevice(int* device);
EMU_API cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
EMU_API cudaError_t cudaDeviceSynchronize(void);
EMU_API cudaError_t cudaDeviceReset(void);
EMU_API cudaError_t cudaGetLastError(void);
EMU_API cudaError_t cudaPeekAtLastError(void);
EMU_API const char* cudaGetErrorString(cudaError_t error);
EMU_API const char* cudaGetErrorName(cudaError_t error);

EMU_API cudaError_t cudaMalloc(void** ptr, size_t bytes);
EMU_API cudaError_t cudaFree(void* ptr);
EMU_API cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
// Page-locked host memory: the only host memory an async copy may use inside a stream capture.
EMU_API cudaError_t cudaMallocHost(void** ptr, size_t bytes);
EMU_API cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned int flags);
EMU_API cudaError_t cudaFreeHost(void* ptr);
EMU_API cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind);
EMU_API cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind,
                                    cudaStream_t stream);
EMU_API cudaError_t cudaMemset(void* dst, int value, size_t bytes);
EMU_API cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream);

EMU_API cudaError_t cudaStreamCreate(cudaStream_t* stream);
EMU_API cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
EMU_API cudaError_t cudaStreamDestroy(cudaStream_t stream);
EMU_API cudaError_t cudaStreamSynchronize(cudaStream_t stream);
EMU_API cudaError_t cudaStreamQuery(cudaStream_t stream);
EMU_API cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags);

// Stream capture and graphs: while a stream captures, the work issued to it is recorded (arguments by
// value), not run; a graph's executable replays the recorded work in order on the stream it is launched on.
EMU_API cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode);
EMU_API cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
EMU_API cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus* status);
EMU_API cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
EMU_API cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
EMU_API cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
EMU_API cudaError_t cudaGraphDestroy(cudaGraph_t graph);
EMU_API cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* num_nodes);

EMU_API cudaError_t cudaEventCreate(cudaEvent_t* event);
EMU_API cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags);
EMU_API cudaError_t cudaEventDestroy(cudaEvent_t event);
EMU_API cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
EMU_API cudaError_t cudaEventSynchronize(cudaEvent_t event);
EMU_API cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);

EMU_API cudaError_t cudaFuncSetAttribute(const void* func, enum cudaFuncAttribute attr, int value);

// Emulator only: while on, faults are reported as expected (the emulator's own tests provoke them).
EMU_API void emu_expect_faults(int on);
}

// C++ overloads of the runtime API (cuda_runtime.h has the same templates).
template <class T>
inline cudaError_t cudaMalloc(T** ptr, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
template <class T>
inline cudaError_t cudaMallocHost(T** ptr, size_t bytes) {
  return cudaMallocHost(reinterpret_cast<void**>(ptr), bytes);
}
template <class T>
inline cudaError_t cudaFuncSetAttribute(T* func, enum cudaFuncAttribute attr, int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(func), attr, value);
}

// ------------------------------------------------------------------------------------------------
// cuBLAS (v2 API, column-major) and cuBLASLt handles.

struct cublasContext;
typedef cublasContext* cublasHandle_t;
struct cublasLtContext;
typedef cublasLtContext* cublasLtHandle_t;

typedef enum {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;

typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;

typedef enum {
  CUBLAS_DEFAULT_MATH = 0,
  CUBLAS_TENSOR_OP_MATH = 1,
  CUBLAS_PEDANTIC_MATH = 2,
  CUBLAS_TF32_TENSOR_OP_MATH = 3,
  CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
} cublasMath_t;

typedef enum { CUBLAS_POINTER_MODE_HOST = 0, CUBLAS_POINTER_MODE_DEVICE = 1 } cublasPointerMode_t;

extern "C" {
EMU_API cublasStatus_t cublasCreate(cublasHandle_t* handle);
EMU_API cublasStatus_t cublasDestroy(cublasHandle_t handle);
EMU_API cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream);
EMU_API cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream);
EMU_API cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);
EMU_API cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode);
EMU_API cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode);
EMU_API cublasStatus_t cublasGetPointerMode(cublasHandle_t handle, cublasPointerMode_t* mode);
EMU_API cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, size_t bytes);
EMU_API cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                                   int n, int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                                   const float* beta, float* C, int ldc);
EMU_API cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                                 cublasOperation_t transb, int m, int n, int k, const float* alpha,
                                                 const float* A, int lda, long long strideA, const float* B, int ldb,
                                                 long long strideB, const float* beta, float* C, int ldc,
                                                 long long strideC, int batch_count);
EMU_API const char* cublasGetStatusString(cublasStatus_t status);

EMU_API cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle);
EMU_API cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle);
}

// ------------------------------------------------------------------------------------------------
// CUB device-wide radix sort (keys only, and key-value pairs), with CUB's temp-storage protocol:
// a call with d_temp_storage == nullptr only writes the bytes it needs.

namespace emu {
// Sorts n keys of `key_bytes` bytes by bits [begin_bit, end_bit) of their order-preserving unsigned
// form (`kind`: 0 unsigned, 1 signed, 2 floating point); values (value_bytes each) follow their keys.
EMU_API cudaError_t radix_sort(void* d_temp, size_t& temp_bytes, const void* keys_in, void* keys_out,
                               const void* values_in, void* values_out, long long n, int key_bytes, int kind,
                               int value_bytes, int begin_bit, int end_bit, cudaStream_t stream, const char* what);

template <class K>
constexpr int key_kind() {
  return K(-1) > K(0) ? 0 : (K(0.5) != K(0) ? 2 : 1);
}
}  // namespace emu

namespace cub {
struct DeviceRadixSort {
  template <class KeyT, class NumItemsT>
  static cudaError_t SortKeys(void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in,
                              KeyT* d_keys_out, NumItemsT num_items, int begin_bit = 0,
                              int end_bit = int(sizeof(KeyT) * 8), cudaStream_t stream = 0) {
    return emu::radix_sort(d_temp_storage, temp_storage_bytes, d_keys_in, d_keys_out, nullptr, nullptr,
                           static_cast<long long>(num_items), int(sizeof(KeyT)), emu::key_kind<KeyT>(), 0, begin_bit,
                           end_bit, stream, "cub::DeviceRadixSort::SortKeys");
  }
  template <class KeyT, class ValueT, class NumItemsT>
  static cudaError_t SortPairs(void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in,
                               KeyT* d_keys_out, const ValueT* d_values_in, ValueT* d_values_out,
                               NumItemsT num_items, int begin_bit = 0, int end_bit = int(sizeof(KeyT) * 8),
                               cudaStream_t stream = 0) {
    return emu::radix_sort(d_temp_storage, temp_storage_bytes, d_keys_in, d_keys_out, d_values_in, d_values_out,
                           static_cast<long long>(num_items), int(sizeof(KeyT)), emu::key_kind<KeyT>(),
                           int(sizeof(ValueT)), begin_bit, end_bit, stream, "cub::DeviceRadixSort::SortPairs");
  }
};
}  // namespace cub
