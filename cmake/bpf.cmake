# SPDX-License-Identifier: MIT
# bpftime_bpf_object(<target> <source.bpf.c> [INCLUDES dir...] [CFLAGS flag...])
# compiles a BPF C program with clang -target bpf into
# ${CMAKE_CURRENT_BINARY_DIR}/<name>.bpf.o and makes <target> build it.
find_program(BPFTIME_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)

function(bpftime_bpf_object target src)
  cmake_parse_arguments(ARG "" "" "INCLUDES;CFLAGS" ${ARGN})
  get_filename_component(name ${src} NAME_WE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(incs)
  # <linux/bpf.h> needs <asm/types.h>, which Debian keeps in the multiarch
  # directory that clang -target bpf does not search.
  if(CMAKE_LIBRARY_ARCHITECTURE)
    list(APPEND incs -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
  endif()
  foreach(dir ${ARG_INCLUDES})
    list(APPEND incs -I${dir})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${BPFTIME_CLANG} -target bpf -O2 -g -mcpu=v3 -Wall -Werror
            -D__TARGET_ARCH_x86 ${incs} ${ARG_CFLAGS}
            -MD -MF ${out}.d
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${out}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${src}
    DEPFILE ${out}.d
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_target(${target} ALL DEPENDS ${out})
  set_target_properties(${target} PROPERTIES BPF_OBJECT ${out})
endfunction()
