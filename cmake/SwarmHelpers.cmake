# swarm_module(NAME DIR... DEPS libs...): a static library from the .c files
# directly inside each DIR (not recursing), skipped while a module has no code yet.
function(swarm_module NAME)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  set(srcs)
  foreach(d ${M_UNPARSED_ARGUMENTS})
    file(GLOB s CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/${d}/*.c)
    list(APPEND srcs ${s})
  endforeach()
  if(NOT srcs)
    return()
  endif()
  add_library(swarm_${NAME} STATIC ${srcs})
  target_include_directories(swarm_${NAME} PUBLIC ${CMAKE_SOURCE_DIR}/include
                             PRIVATE ${CMAKE_SOURCE_DIR}/src)
  set(deps)
  foreach(dep ${M_DEPS})
    if(TARGET ${dep} OR NOT dep MATCHES "^swarm_")
      list(APPEND deps ${dep})
    endif()
  endforeach()
  target_link_libraries(swarm_${NAME} PUBLIC ${deps})
endfunction()

# swarm_unit_test(FILE): one binary per tests/unit/<module>_*.c file, linked
# against swarm_<module> when that library exists, else against everything.
# Tests find ../shared through SWARM_SHARED_DIR and skip when it is absent.
function(swarm_unit_test FILE)
  get_filename_component(name ${FILE} NAME_WE)
  string(REGEX REPLACE "_.*" "" module ${name})
  add_executable(${name} ${FILE} ${CMAKE_SOURCE_DIR}/tests/check.c)
  if(TARGET swarm_${module})
    target_link_libraries(${name} PRIVATE swarm_${module} PkgConfig::CMOCKA)
  else()
    target_link_libraries(${name} PRIVATE swarm_all PkgConfig::CMOCKA)
  endif()
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/tests)
  add_test(NAME unit.${name} COMMAND ${name})
  # Sanitized builds run several times slower (and the sanitizer targets
  # are run on loaded machines): their timeout is longer.
  if(SWARM_SANITIZE)
    set(_timeout 1800)
  else()
    set(_timeout 300)
  endif()
  set_tests_properties(unit.${name} PROPERTIES TIMEOUT ${_timeout} LABELS unit
    ENVIRONMENT "SWARM_SHARED_DIR=${SWARM_SHARED_DIR};SWARM_BIN=${CMAKE_BINARY_DIR}/swarm;SWARM_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
    SKIP_RETURN_CODE 77)
endfunction()
