package io.newswire.analysis;

import org.apache.lucene.analysis.TokenStream;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Token filter {@code newswire_english_possessive}: removes trailing 's (Lucene EnglishPossessiveFilter). */
@NamedComponent("newswire_english_possessive")
public class EnglishPossessiveTokenFilterFactory implements TokenFilterFactory {

    @Override
    public TokenStream create(TokenStream tokenStream) {
        return EnglishChain.possessive(tokenStream);
    }
}
