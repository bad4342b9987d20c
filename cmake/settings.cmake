# SPDX-License-Identifier: MIT
# One INTERFACE target with the flags every target of ours links.
add_library(bpftime_settings INTERFACE)
target_compile_options(bpftime_settings INTERFACE
  -Wall -Wextra -Werror
  -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
  -Wno-unused-parameter
  -fno-strict-aliasing)
target_compile_definitions(bpftime_settings INTERFACE _GNU_SOURCE)

if(BPFTIME_SANITIZE)
  set(BPFTIME_SAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
  target_compile_options(bpftime_settings INTERFACE ${BPFTIME_SAN_FLAGS})
  target_link_options(bpftime_settings INTERFACE ${BPFTIME_SAN_FLAGS})
endif()

if(BPFTIME_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "BPFTIME_FUZZ needs clang (CC=clang)")
  endif()
  # Coverage instrumentation for every library; the fuzz binaries add the
  # libFuzzer main themselves.
  target_compile_options(bpftime_settings INTERFACE -fsanitize=fuzzer-no-link)
endif()
