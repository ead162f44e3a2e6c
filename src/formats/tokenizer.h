// Tokenizers (WordPiece, byte-level BPE): declared in the public edgerun/preprocess.h;
// tokenizer_impl.h holds the internals.
#pragma once
#include "edgerun/preprocess.h"
