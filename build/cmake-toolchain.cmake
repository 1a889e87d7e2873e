# Read by the CMake build of WAMR inside the `v8x` crate (QuickJS engine of deno_core).
# It would clone `simde` from GitHub; point it at Debian's `libsimde-dev` headers instead.
set(FETCHCONTENT_SOURCE_DIR_SIMDE "/usr/include" CACHE PATH "" FORCE)
