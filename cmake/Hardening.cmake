# Warnings as errors and hardened code generation for everything Ward builds.
# ward_warnings(target) adds the strict warning set; -Wconversion is kept to the library and
# tools, where lengths cross API boundaries (cmocka's macros make it noise in tests).
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
                    -Wmissing-prototypes -Wvla -Wno-unused-parameter)
add_compile_options(-fstack-protector-strong -fcf-protection=full -fno-strict-overflow
                    -fno-delete-null-pointer-checks)
add_link_options(-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--as-needed)

if(WARD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -O1 -g)
  add_link_options(-fsanitize=address,undefined)
else()
  # FORTIFY needs optimisation; it is pointless (and noisy) under ASan.
  add_compile_options(-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
endif()

if(WARD_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  # Coverage instrumentation for everything the fuzzers reach; the fuzz targets add the driver.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

function(ward_strict target)
  target_compile_options(${target} PRIVATE -Wconversion -Wsign-conversion)
endfunction()
