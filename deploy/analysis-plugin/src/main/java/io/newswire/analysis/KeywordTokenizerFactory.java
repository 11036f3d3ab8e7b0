package io.newswire.analysis;

import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.core.KeywordTokenizer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenizerFactory;

/**
 * Tokenizer {@code newswire_keyword}: the whole input as a single token (Lucene KeywordTokenizer).
 * The minimal distribution has no {@code keyword} tokenizer (it lives in analysis-common).
 */
@NamedComponent("newswire_keyword")
public class KeywordTokenizerFactory implements TokenizerFactory {

    @Override
    public Tokenizer create() {
        return new KeywordTokenizer();
    }
}
