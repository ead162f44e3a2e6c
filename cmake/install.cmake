# `cmake --install`: the module libraries, the public headers and a CMake package, so that a
# program can use find_package(edgerun) and link edgerun::edgerun (tests/consumer/ does).
include(CMakePackageConfigHelpers)

install(TARGETS edgerun_lib ${EDGERUN_MODULE_TARGETS} EXPORT edgerunTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS edgerun RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/edgerun DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(EXPORT edgerunTargets NAMESPACE edgerun:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgerun)

set(EDGERUN_CONFIG_HAVE_URING ${URING_FOUND})
configure_package_config_file(cmake/edgerunConfig.cmake.in
  ${CMAKE_BINARY_DIR}/edgerunConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgerun)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/edgerunConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/edgerunConfig.cmake ${CMAKE_BINARY_DIR}/edgerunConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgerun)
