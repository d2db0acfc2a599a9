"""Pure DataFrame -> DataFrame transforms: conforming landing rows and village risk features."""
