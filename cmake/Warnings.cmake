# SPDX-License-Identifier: Apache-2.0
# Warnings as an INTERFACE target: every project target links suwrap_warnings.
add_library(suwrap_warnings INTERFACE)
target_compile_options(suwrap_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  $<$<BOOL:${SUWRAP_DEVELOPER}>:-Werror>
)
