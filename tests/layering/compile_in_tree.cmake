# cmake -DCXX=<compiler> -DTREE=<include tree> -DSOURCE=<file> -DEXPECT=<pass|fail> -P this
# Compiles SOURCE (syntax only) against one module's include tree, as that module's sources
# are compiled. EXPECT=fail: the compile must fail with "No such file or directory" for the
# include named in the source's "// forbidden:" line; EXPECT=pass: it must compile.
foreach(v CXX TREE SOURCE EXPECT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "compile_in_tree.cmake: -D${v}= is required")
  endif()
endforeach()
# libonnx's headers (formats/onnx.h) need the definitions its CMake target carries.
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -DONNX_ML=1 -DONNX_NAMESPACE=onnx -I${TREE} ${SOURCE}
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(EXPECT STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SOURCE} should compile against ${TREE}:\n${err}")
  endif()
  return()
endif()
file(STRINGS ${SOURCE} forbidden REGEX "^// forbidden: ")
string(REPLACE "// forbidden: " "" forbidden "${forbidden}")
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled against ${TREE}, but it includes ${forbidden}")
endif()
string(FIND "${err}" "${forbidden}: No such file or directory" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${SOURCE} failed, but not for want of ${forbidden}:\n${err}")
endif()
message(STATUS "${SOURCE}: ${forbidden} not found, as the table wants")
