# SPDX-License-Identifier: Apache-2.0
# The fuzz build (SUWRAP_FUZZ=ON, driven by tests/fuzz/run.sh): every object of the
# project gets libFuzzer's coverage instrumentation and the address and undefined-behaviour
# sanitizers, so the policy library and the FastCGI codec that the targets link are
# instrumented too, not only the targets' own few lines. The targets themselves add
# -fsanitize=fuzzer at link time, which brings libFuzzer's main().
if(NOT SUWRAP_FUZZ)
  return()
endif()

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "SUWRAP_FUZZ needs clang (libFuzzer is part of its runtime): "
                      "configure with CXX=clang++, as tests/fuzz/run.sh does")
endif()
if(SUWRAP_SANITIZE)
  message(FATAL_ERROR "SUWRAP_FUZZ brings its own sanitizers; leave SUWRAP_SANITIZE off")
endif()

add_compile_options(
  -fsanitize=fuzzer-no-link,address,undefined
  -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer
  # Fortified libc calls are checked by glibc, not by ASan's interceptors, and would hide
  # an overflow from the sanitizer; Hardening.cmake turned them on, this comes later. (Spelt
  # apart because CMake drops a repeat of Hardening.cmake's own "-U_FORTIFY_SOURCE".)
  "SHELL:-U _FORTIFY_SOURCE"
)
add_link_options(-fsanitize=address,undefined)
