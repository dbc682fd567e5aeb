# ward_generate(IDL <file.idl> [OUT_HOST <var>] [OUT_TA <var>] [INCLUDE_DIR <var>] [NAME <prefix>])
#
# Runs ward-gen at build time on an interface description (docs/sdk.md) and returns the
# generated sources: OUT_HOST receives PREFIX_host.c and PREFIX_host.h (typed calls for the host
# program and its ocall dispatcher), OUT_TA receives PREFIX_ta.c and PREFIX_ta.h (the TA's
# dispatch and typed ocalls). INCLUDE_DIR receives the directory that holds them, for
# target_include_directories. PREFIX is the IDL's TA name unless NAME gives another one.
# The files are regenerated whenever the IDL or ward-gen changes.
#
# ward-gen is the `ward-gen` target of the Ward build when there is one, else
# WARD_GEN_EXECUTABLE (a cache variable; found on PATH or under WARD_BUILD_DIR/tools).

include_guard(GLOBAL)

function(ward_generate)
  cmake_parse_arguments(WG "" "IDL;OUT_HOST;OUT_TA;INCLUDE_DIR;NAME" "" ${ARGN})
  if(WG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ward_generate: unexpected arguments: ${WG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT WG_IDL)
    message(FATAL_ERROR "ward_generate: IDL <file> is required")
  endif()
  get_filename_component(idl "${WG_IDL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${idl}")
    message(FATAL_ERROR "ward_generate: ${idl} does not exist")
  endif()

  # The generated file names depend on the TA name: read it now, and configure again when the
  # IDL changes so that a renamed TA is noticed.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${idl}")
  if(WG_NAME)
    set(prefix "${WG_NAME}")
  else()
    file(READ "${idl}" text)
    if(NOT text MATCHES "(^|\n)ta ([A-Za-z][A-Za-z0-9_]*)[;]")
      message(FATAL_ERROR "ward_generate: ${idl} has no 'ta NAME;' line (ward-gen will say more)")
    endif()
    set(prefix "${CMAKE_MATCH_2}")
  endif()

  if(TARGET ward-gen)
    set(gen_cmd "$<TARGET_FILE:ward-gen>")
    set(gen_dep ward-gen)
  else()
    find_program(WARD_GEN_EXECUTABLE ward-gen
                 HINTS "${WARD_BUILD_DIR}/tools" "$ENV{WARD_BUILD_DIR}/tools"
                 DOC "ward-gen, the Ward marshalling generator")
    if(NOT WARD_GEN_EXECUTABLE)
      message(FATAL_ERROR "ward_generate: ward-gen not found; set WARD_GEN_EXECUTABLE or "
                          "WARD_BUILD_DIR (a Ward build tree), or install Ward")
    endif()
    set(gen_cmd "${WARD_GEN_EXECUTABLE}")
    set(gen_dep "${WARD_GEN_EXECUTABLE}")
  endif()

  set(dir "${CMAKE_CURRENT_BINARY_DIR}/ward-gen/${prefix}")
  set(host "${dir}/${prefix}_host.c" "${dir}/${prefix}_host.h")
  set(ta "${dir}/${prefix}_ta.c" "${dir}/${prefix}_ta.h")
  set(name_arg "")
  if(WG_NAME)
    set(name_arg --name "${WG_NAME}")
  endif()
  file(RELATIVE_PATH rel "${CMAKE_BINARY_DIR}" "${idl}")
  add_custom_command(
    OUTPUT ${host} ${ta}
    COMMAND ${CMAKE_COMMAND} -E make_directory "${dir}"
    COMMAND ${gen_cmd} -o "${dir}" ${name_arg} "${idl}"
    DEPENDS "${idl}" ${gen_dep}
    COMMENT "ward-gen ${prefix}: marshalling code from ${rel}"
    VERBATIM)
  if(WG_OUT_HOST)
    set(${WG_OUT_HOST} ${host} PARENT_SCOPE)
  endif()
  if(WG_OUT_TA)
    set(${WG_OUT_TA} ${ta} PARENT_SCOPE)
  endif()
  if(WG_INCLUDE_DIR)
    set(${WG_INCLUDE_DIR} "${dir}" PARENT_SCOPE)
  endif()
endfunction()
