/* Entry point (placeholder while the engine lands). */
#include "fmacros.h"

int main(void)
{
    return 0;
}
