# Turns a file into a C source holding its bytes, so the binary serves it without reading the
# disk (admin/dashboard.html -> rw__admin_dashboard_html[]).  Script mode:
#   cmake -DIN=<file> -DOUT=<file.c> -DNAME=<symbol> [-DINCLUDE=<header>] -P embed.cmake
# Output: const unsigned char NAME[] = {...bytes..., 0}; const size_t NAME_len (without the 0),
# so the data is also a C string.  Written only when it changed (no needless rebuilds).
foreach(var IN ITEMS IN OUT NAME)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: -D${var}= is required")
  endif()
endforeach()

file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line (CMake regexes have no {n}: spell the group out).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_re)
string(REGEX REPLACE "(${line_re})" "\\1\n" bytes "${bytes}")

get_filename_component(src "${IN}" NAME)
set(text "/* Generated from ${src} by cmake/embed.cmake: do not edit. */\n#include <stddef.h>\n")
if(DEFINED INCLUDE)
  string(APPEND text "\n#include \"${INCLUDE}\"\n")
endif()
string(APPEND text "\nconst unsigned char ${NAME}[] = {\n${bytes}0x00};\n"
                   "const size_t ${NAME}_len = ${size};\n")

if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")
