// .npy reading and writing: declared in the public edgerun/preprocess.h.
#pragma once
#include "edgerun/preprocess.h"
