# Finds every dependency; a missing one stops configure naming the Debian package to install.

function(cuvi_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "cuvi: ${what} not found. On Debian: sudo apt-get install ${package}")
  endif()
endfunction()

# CUDA when nvcc is found (or CUVI_CUDA=ON asks for it), CPU-only otherwise: without CUDA the kernels under
# kernels/cuda are not compiled and the CUDA backend reports that this build has none (CUVI_CPU_ONLY).
include(CheckLanguage)
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  set(CUVI_CUDA_DEFAULT ON)
else()
  set(CUVI_CUDA_DEFAULT OFF)
endif()
option(CUVI_CUDA "Build the CUDA backend (needs nvcc); OFF builds CPU-only" ${CUVI_CUDA_DEFAULT})
if(NOT CUVI_CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CUVI_CPU_ONLY_REASON "CUVI_CUDA=OFF")
  else()
    set(CUVI_CPU_ONLY_REASON "no CUDA compiler (nvcc) found")
  endif()
  message(STATUS "cuvi: CPU-only build (${CUVI_CPU_ONLY_REASON}): no CUDA backend, the CPU backend runs everything")
  add_compile_definitions(CUVI_CPU_ONLY)
  set(CUVI_CUDA_ARCHITECTURES_BUILT "none (CPU-only build)")
else()
  if(NOT CMAKE_CUDA_COMPILER)
    message(FATAL_ERROR "cuvi: the CUDA compiler (nvcc) was not found. Install the CUDA Toolkit 13 "
      "(https://developer.nvidia.com/cuda-downloads, or Debian's nvidia-cuda-toolkit) and put nvcc on PATH "
      "or pass -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc; or configure with -DCUVI_CUDA=OFF for a CPU-only build")
  endif()
  enable_language(CUDA)

  find_package(CUDAToolkit)
  cuvi_require(CUDAToolkit_FOUND "CUDA Toolkit (cudart, cuBLAS, cuRAND)" "nvidia-cuda-toolkit")
  foreach(lib cudart cublas cublasLt curand)
    if(NOT TARGET CUDA::${lib})
      message(FATAL_ERROR "cuvi: CUDA library ${lib} not found in the CUDA Toolkit at ${CUDAToolkit_LIBRARY_DIR}")
    endif()
  endforeach()
  if(NOT EXISTS "${CUDAToolkit_INCLUDE_DIRS}/cub/cub.cuh" AND NOT EXISTS "${CUDAToolkit_INCLUDE_DIRS}/cccl/cub/cub.cuh")
    message(FATAL_ERROR "cuvi: CUB/Thrust headers (CCCL) not found under ${CUDAToolkit_INCLUDE_DIRS}")
  endif()
  set(CUVI_CUDA_ARCHITECTURES_BUILT "${CMAKE_CUDA_ARCHITECTURES}")
  message(STATUS "cuvi: CUDA build (nvcc ${CMAKE_CUDA_COMPILER_VERSION}) for architectures ${CMAKE_CUDA_ARCHITECTURES}")
endif()

find_package(HDF5 COMPONENTS C HL)
cuvi_require(HDF5_FOUND "HDF5 C library" "libhdf5-dev")
if(NOT TARGET hdf5::hdf5)
  add_library(hdf5::hdf5 INTERFACE IMPORTED)
  target_include_directories(hdf5::hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
  target_link_libraries(hdf5::hdf5 INTERFACE ${HDF5_C_LIBRARIES})
  target_compile_definitions(hdf5::hdf5 INTERFACE ${HDF5_DEFINITIONS})
endif()
# HDF5's high-level library (same package): dimension scales (H5DS) for the netCDF-4 writer.
if(NOT TARGET hdf5::hdf5_hl)
  cuvi_require(HDF5_HL_FOUND "HDF5 high-level library (H5DS)" "libhdf5-dev")
  add_library(hdf5::hdf5_hl INTERFACE IMPORTED)
  target_link_libraries(hdf5::hdf5_hl INTERFACE ${HDF5_HL_LIBRARIES} hdf5::hdf5)
endif()

find_package(OpenMP)
cuvi_require(OpenMP_CXX_FOUND "OpenMP for C++" "libgomp1 (part of g++)")
find_package(Threads REQUIRED)

# OpenBLAS for every CPU matrix product. The OpenMP build shares cuvi's OpenMP thread pool (one pool,
# sized by --threads); Debian installs it beside the default pthread build, so look for it first.
set(CUVI_OPENBLAS_HINTS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp
    /usr/lib64/openblas-openmp)
find_library(CUVI_OPENBLAS_LIBRARY NAMES openblaso openblas HINTS ${CUVI_OPENBLAS_HINTS} NO_DEFAULT_PATH)
if(NOT CUVI_OPENBLAS_LIBRARY)
  find_library(CUVI_OPENBLAS_LIBRARY NAMES openblas)
endif()
cuvi_require(CUVI_OPENBLAS_LIBRARY "OpenBLAS" "libopenblas-openmp-dev")
get_filename_component(CUVI_OPENBLAS_DIR "${CUVI_OPENBLAS_LIBRARY}" DIRECTORY)
get_filename_component(CUVI_OPENBLAS_VARIANT "${CUVI_OPENBLAS_DIR}" NAME)
find_path(CUVI_CBLAS_INCLUDE_DIR cblas.h
  HINTS /usr/include/x86_64-linux-gnu/${CUVI_OPENBLAS_VARIANT} /usr/include/aarch64-linux-gnu/${CUVI_OPENBLAS_VARIANT}
        /usr/include/openblas)
cuvi_require(CUVI_CBLAS_INCLUDE_DIR "cblas.h (OpenBLAS headers)" "libopenblas-openmp-dev")
add_library(cuvi::openblas INTERFACE IMPORTED)
target_include_directories(cuvi::openblas INTERFACE ${CUVI_CBLAS_INCLUDE_DIR})
target_link_libraries(cuvi::openblas INTERFACE ${CUVI_OPENBLAS_LIBRARY})
if(NOT CUVI_OPENBLAS_VARIANT MATCHES "openmp")
  message(WARNING "cuvi: ${CUVI_OPENBLAS_LIBRARY} is not OpenBLAS's OpenMP build; its own thread pool will run "
    "beside OpenMP's (install libopenblas-openmp-dev for one shared pool)")
endif()
message(STATUS "cuvi: OpenBLAS ${CUVI_OPENBLAS_LIBRARY} (cblas.h in ${CUVI_CBLAS_INCLUDE_DIR})")

# libigraph (Leiden, connected components, ARPACK) for the latent-space analyses in tools/workflow. Only the
# library itself is linked: its exported CMake target also names the generic libblas/liblapack, which would
# put a second BLAS beside the OpenMP OpenBLAS above.
find_path(CUVI_IGRAPH_INCLUDE_DIR igraph.h PATH_SUFFIXES igraph)
find_library(CUVI_IGRAPH_LIBRARY NAMES igraph)
cuvi_require(CUVI_IGRAPH_INCLUDE_DIR "libigraph headers (igraph.h)" "libigraph-dev")
cuvi_require(CUVI_IGRAPH_LIBRARY "libigraph" "libigraph-dev")
add_library(cuvi::igraph INTERFACE IMPORTED)
target_include_directories(cuvi::igraph INTERFACE ${CUVI_IGRAPH_INCLUDE_DIR})
target_link_libraries(cuvi::igraph INTERFACE ${CUVI_IGRAPH_LIBRARY})
message(STATUS "cuvi: libigraph ${CUVI_IGRAPH_LIBRARY} (igraph.h in ${CUVI_IGRAPH_INCLUDE_DIR})")

if(CUVI_BUILD_TESTS)
  find_package(GTest)
  cuvi_require(GTest_FOUND "GoogleTest" "libgtest-dev")
endif()
if(CUVI_BUILD_BENCH AND CUVI_CUDA)
  find_package(benchmark)
  cuvi_require(benchmark_FOUND "Google Benchmark" "libbenchmark-dev")
endif()
