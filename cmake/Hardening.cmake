# SPDX-License-Identifier: Apache-2.0
# Hardened code generation for every target of the project (not only suwrap):
# PIE, full RELRO, stack protector, fortified libc calls, stack-clash protection.
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_compile_options(
  -fPIE
  -fstack-protector-strong
  -fstack-clash-protection
  -fcf-protection=full
)
# _FORTIFY_SOURCE needs optimisation; level 3 needs glibc >= 2.34 and GCC >= 12. Both
# are flags, in this order, so that a toolchain default is replaced, not the other way
# round (CMake puts definitions before flags on the command line).
add_compile_options($<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE> $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=3>)
add_link_options(-pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -Wl,--as-needed)

if(SUWRAP_SANITIZE)
  # The sanitizer runtimes read options (log_path=...) from the environment: never in a
  # set-uid program. suwrap/CMakeLists.txt installs a sanitized suwrap without the bit.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
