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

# bpftime_bpf_skeleton(<target> <bpf-object-target> <name>) runs
# `bpftool gen skeleton` on the object that <bpf-object-target> (made by
# bpftime_bpf_object) builds, writing ${CMAKE_CURRENT_BINARY_DIR}/<header>
# where <header> is the object's name with .bpf.o replaced by .skel.h; the
# skeleton's struct and functions are named <name> (struct <name>,
# <name>__open ...). Sets <target>'s SKELETON_HEADER property. Needs
# BPFTIME_BPFTOOL (found below; the caller checks it).
find_program(BPFTIME_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin)

function(bpftime_bpf_skeleton target object_target name)
  get_target_property(obj ${object_target} BPF_OBJECT)
  get_filename_component(base ${obj} NAME)
  string(REGEX REPLACE "\\.bpf\\.o$" ".skel.h" header ${base})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${header})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${BPFTIME_BPFTOOL} gen skeleton ${obj} name ${name} > ${out}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${out}.tmp ${out}
    DEPENDS ${obj} ${object_target}
    COMMENT "BPF skeleton ${header}"
    VERBATIM)
  add_custom_target(${target} DEPENDS ${out})
  set_target_properties(${target} PROPERTIES SKELETON_HEADER ${out})
endfunction()
