package io.newswire.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Token filter {@code newswire_lowercase}: lowercases tokens (Lucene LowerCaseFilter). */
@NamedComponent("newswire_lowercase")
public class LowercaseTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return EnglishChain.lowercase(tokenStream);
    }

    /** Character-level only, so it also applies to normalizers and multi-term queries. */
    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return EnglishChain.lowercase(tokenStream);
    }
}
