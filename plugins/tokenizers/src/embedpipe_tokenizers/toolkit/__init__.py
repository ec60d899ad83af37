"""What every exact tokenizer family builds on: the graph builder and text to code points per op
profile (graph, utf8), what the model's own library does to each code point (library), the
vocabulary trie (pieces), added tokens typed in the text (specials), the template around the body
and the stage's outputs (outputs), and the parts of tokenizer.json every family reads alike (spec)."""
