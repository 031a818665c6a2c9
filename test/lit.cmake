# lit/FileCheck suites of the compiler (test/Dialect, test/Passes, ...).
# Included from test/CMakeLists.txt when ATTUNE_BUILD_COMPILER is on, so
# CMAKE_CURRENT_SOURCE_DIR / CMAKE_CURRENT_BINARY_DIR are test/ in the source
# and build trees. FileCheck, not and count come from the LLVM 22 tools dir
# (LLVM_TOOLS_BINARY_DIR); they are not targets of this build.

configure_lit_site_cfg(
  ${CMAKE_CURRENT_SOURCE_DIR}/lit.site.cfg.py.in
  ${CMAKE_CURRENT_BINARY_DIR}/lit.site.cfg.py
  MAIN_CONFIG
  ${CMAKE_CURRENT_SOURCE_DIR}/lit.cfg.py
  )

set(ATTUNE_LIT_TEST_DEPENDS attune-opt attune-compile attune-run ptxemu-load
  attune_fake_cuda)
if(TARGET attune-ref)
  list(APPEND ATTUNE_LIT_TEST_DEPENDS attune-ref)
endif()

add_lit_testsuite(check-attune-lit "Running the attune lit tests"
  ${CMAKE_CURRENT_BINARY_DIR}
  DEPENDS ${ATTUNE_LIT_TEST_DEPENDS}
  )
set_target_properties(check-attune-lit PROPERTIES FOLDER "Tests")

# ctest runs the same suite (label `lit`); build the tools first.
add_test(NAME lit COMMAND ${LLVM_EXTERNAL_LIT} -sv ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(lit PROPERTIES LABELS lit)
