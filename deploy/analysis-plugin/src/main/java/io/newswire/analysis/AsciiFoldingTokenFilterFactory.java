package io.newswire.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Token filter {@code newswire_asciifolding}: folds non-ASCII letters to ASCII (Lucene ASCIIFoldingFilter). */
@NamedComponent("newswire_asciifolding")
public class AsciiFoldingTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return EnglishChain.asciiFolding(tokenStream);
    }

    /** Character-level only, so it also applies to normalizers and multi-term queries. */
    @Override
    public TokenStream normalize(TokenStream tokenStream) {
        return EnglishChain.asciiFolding(tokenStream);
    }
}
