# ward_add_ta(TARGET name SOURCES src... [LIBRARIES lib...] [INCLUDE_DIRECTORIES dir...])
#
# Builds a Ward trusted application: one static, position-independent executable (-static-pie)
# linked with the trusted runtime libward-ta and, statically, libcrypto and libjansson (the
# linker takes only what the TA uses). Sanitizers are never used in a TA (ASan cannot be linked
# statically, and a TA must not carry instrumentation the host controls); the hardening flags are
# kept. pthread_create is wrapped so that the runtime can enforce the instance's thread limit.
#
# Works in the Ward tree (target ward_ta) and against an installed Ward (libward-ta.a found next
# to this file, or through pkg-config's ward-ta).
include_guard(GLOBAL)

set(_WARD_TA_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})

find_library(WARD_LIBCRYPTO_STATIC NAMES libcrypto.a)
find_library(WARD_LIBJANSSON_STATIC NAMES libjansson.a)
if(NOT WARD_LIBCRYPTO_STATIC)
  message(FATAL_ERROR "ward_add_ta needs the static libcrypto.a (libssl-dev)")
endif()

# Removes sanitizer and coverage instrumentation and the dynamic -pie link flag that directory-
# wide options gave target t.
function(ward_ta_strip_instrumentation t)
  foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(opts ${t} ${prop})
    if(opts)
      list(FILTER opts EXCLUDE REGEX "^-f(no-)?sanitize")
      list(FILTER opts EXCLUDE REGEX "^-pie$")
      set_target_properties(${t} PROPERTIES ${prop} "${opts}")
    endif()
  endforeach()
  # FORTIFY is off in sanitizer builds; a TA always has it.
  target_compile_options(${t} PRIVATE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
endfunction()

function(ward_add_ta)
  cmake_parse_arguments(TA "" "TARGET" "SOURCES;LIBRARIES;INCLUDE_DIRECTORIES" ${ARGN})
  if(NOT TA_TARGET OR NOT TA_SOURCES)
    message(FATAL_ERROR "ward_add_ta(TARGET name SOURCES ...)")
  endif()
  add_executable(${TA_TARGET} ${TA_SOURCES})
  ward_ta_strip_instrumentation(${TA_TARGET})
  set_target_properties(${TA_TARGET} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${TA_TARGET} PRIVATE -fPIE)
  target_link_options(${TA_TARGET} PRIVATE -static-pie -Wl,--wrap=pthread_create)
  if(TA_INCLUDE_DIRECTORIES)
    target_include_directories(${TA_TARGET} PRIVATE ${TA_INCLUDE_DIRECTORIES})
  endif()
  if(TARGET ward_ta)
    set(_rt ward_ta)
  else()
    find_library(WARD_TA_LIBRARY NAMES libward-ta.a
                 HINTS ${_WARD_TA_CMAKE_DIR}/../.. ${_WARD_TA_CMAKE_DIR}/../../lib)
    find_path(WARD_TA_INCLUDE_DIR ward/ta.h
              HINTS ${_WARD_TA_CMAKE_DIR}/../../../include ${_WARD_TA_CMAKE_DIR}/../../include)
    if(NOT WARD_TA_LIBRARY OR NOT WARD_TA_INCLUDE_DIR)
      message(FATAL_ERROR "libward-ta.a or ward/ta.h not found: install Ward or set WARD_TA_LIBRARY")
    endif()
    set(_rt ${WARD_TA_LIBRARY})
    target_include_directories(${TA_TARGET} PRIVATE ${WARD_TA_INCLUDE_DIR})
  endif()
  target_link_libraries(${TA_TARGET} PRIVATE ${TA_LIBRARIES} ${_rt} ${WARD_LIBCRYPTO_STATIC})
  if(WARD_LIBJANSSON_STATIC)
    target_link_libraries(${TA_TARGET} PRIVATE ${WARD_LIBJANSSON_STATIC})
  endif()
endfunction()
