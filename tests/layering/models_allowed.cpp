// The control for models_include_runtime.cpp: what models may use compiles in its tree.
#include "edgerun/types.h"
#include "formats/safetensors.h"
#include "graph/graph.h"
#include "models/model.h"
